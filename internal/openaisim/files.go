package openaisim

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
)

// Files: upload, list, get and download. Batch output and error files are
// generated on read (see batchfile.go).

type file struct {
	w fileWire
	// data is the content of an uploaded file; gen writes the content of a
	// generated one (batch output), which is never held in memory.
	data []byte
	gen  func(io.Writer) error
}

func (f *file) wire() any { return f.w }

type fileWire struct {
	ID            string  `json:"id"`
	Object        string  `json:"object"`
	Bytes         int64   `json:"bytes"`
	CreatedAt     int64   `json:"created_at"`
	ExpiresAt     *int64  `json:"expires_at"`
	Filename      string  `json:"filename"`
	Purpose       string  `json:"purpose"`
	Status        string  `json:"status"`
	StatusDetails *string `json:"status_details"`
}

// filePurposes are the purposes an upload may declare.
var filePurposes = map[string]bool{
	"assistants": true, "batch": true, "fine-tune": true, "vision": true, "user_data": true, "evals": true,
}

// newFileLocked stores an uploaded or generated file of the project. The
// caller holds s.mu.
func (s *Server) newFileLocked(project, filename, purpose string, data []byte) *file {
	f := &file{data: data, w: fileWire{
		ID:        s.alnumID("file-", 22),
		Object:    "file",
		Bytes:     int64(len(data)),
		CreatedAt: s.now().Unix(),
		Filename:  filename,
		Purpose:   purpose,
		Status:    "processed",
	}}
	s.st.files[f.w.ID] = f
	s.claimLocked(project, f.w.ID)
	s.st.fileOrder = append(s.st.fileOrder, f.w.ID)
	return f
}

// ---- REST ----

func (s *Server) createFile(w http.ResponseWriter, r *http.Request) {
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, badRequest("Invalid Content-Type header: expected multipart/form-data.", "", ""))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadBody)
	var (
		purpose, filename string
		data              []byte
		haveFile          bool
		expiresIn         int64
	)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			writeError(w, badRequest("Could not parse the multipart form: "+err.Error(), "", ""))
			return
		}
		switch part.FormName() {
		case "purpose":
			b, _ := io.ReadAll(io.LimitReader(part, 1024))
			purpose = string(b)
		case "expires_after[seconds]":
			b, _ := io.ReadAll(io.LimitReader(part, 64))
			expiresIn, _ = strconv.ParseInt(string(b), 10, 64)
		case "file":
			filename, haveFile = part.FileName(), true
			if data, err = io.ReadAll(part); err != nil {
				writeError(w, &apiError{Status: http.StatusRequestEntityTooLarge, Message: "The file is too large.", Type: "invalid_request_error", Param: "file"})
				return
			}
		}
		_ = part.Close()
	}
	switch {
	case !haveFile:
		writeError(w, missing("file"))
		return
	case purpose == "":
		writeError(w, missing("purpose"))
		return
	case !filePurposes[purpose]:
		writeError(w, badRequest(fmt.Sprintf("'%s' is not one of ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'] - 'purpose'", purpose), "purpose", "invalid_value"))
		return
	}
	if filename == "" {
		filename = "upload"
	}
	project := s.projectOf(r)
	s.mu.Lock()
	f := s.newFileLocked(project, filename, purpose, data)
	if expiresIn == 0 && purpose == "batch" {
		expiresIn = 30 * 24 * 3600 // OpenAI's default for batch files
	}
	if expiresIn > 0 {
		f.w.ExpiresAt = ptr(f.w.CreatedAt + expiresIn)
	}
	out := mustJSON(f.w)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// listFiles pages through files newest first (order=asc reverses it),
// optionally of one purpose.
func (s *Server) listFiles(w http.ResponseWriter, r *http.Request) {
	after, limit, e := listParams(r)
	if e != nil {
		writeError(w, e)
		return
	}
	purpose, project := r.URL.Query().Get("purpose"), s.projectOf(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	order := s.st.fileOrder
	if r.URL.Query().Get("order") == "asc" {
		order = slices.Clone(order)
		slices.Reverse(order)
	}
	ids, more := page(order, after, limit, func(id string) bool {
		return s.visibleLocked(project, id) && (purpose == "" || s.st.files[id].w.Purpose == purpose)
	})
	writePage(w, ids, s.st.files, more)
}

// getFileContent streams the bytes of a file; generated files (batch
// output) are written line by line as they are generated.
func (s *Server) getFileContent(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	f := s.st.files[id]
	var (
		data []byte
		gen  func(io.Writer) error
		size int64
	)
	if f != nil {
		data, gen, size = f.data, f.gen, f.w.Bytes
	}
	s.mu.Unlock()
	if f == nil {
		writeError(w, notFound(kindFile, id))
		return
	}
	w.Header().Set("Content-Type", fileContentType)
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.WriteHeader(http.StatusOK)
	if gen == nil {
		_, _ = w.Write(data)
		return
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := gen(bw); err == nil {
		_ = bw.Flush()
	}
}
