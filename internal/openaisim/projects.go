package openaisim

import (
	"fmt"
	"net/http"
	"strings"
)

// Projects: as in OpenAI, every object and webhook endpoint belongs to one
// project, and a project's API key sees only that project's: for an id of
// another project, the REST API answers the 404 of an id that does not
// exist, and lists leave such objects out. Options.Projects names the
// projects and their keys; every other key acts in the default project "",
// the only one when Options.Projects is empty (then nothing is recorded and
// every key sees everything). An object belongs to the project of the key
// that created it, or of SeedIn and EmitIn; the objects made with it (a
// batch's files, a session's environment, a run's eval) join it. Each
// project's events go to its own webhook endpoints, the default project's
// also to Options.WebhookURL.

// projectOf returns the project of the request's API key.
func (s *Server) projectOf(r *http.Request) string {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return s.keys[strings.TrimSpace(token)]
}

// checkProject reports a project name that Options.Projects does not list.
func (s *Server) checkProject(project string) error {
	if _, ok := s.opts.Projects[project]; project != "" && !ok {
		return fmt.Errorf("%w: %q", ErrUnknownProject, project)
	}
	return nil
}

// claimLocked records that the objects with the ids belong to project. The
// caller holds s.mu.
func (s *Server) claimLocked(project string, ids ...string) {
	if len(s.keys) == 0 {
		return
	}
	for _, id := range ids {
		s.st.owner[id] = project
	}
}

// ownerLocked returns the project of the object with the id ("" for the
// default project). The caller holds s.mu.
func (s *Server) ownerLocked(id string) string { return s.st.owner[id] }

// visibleLocked reports whether project sees the object with the id. The
// caller holds s.mu.
func (s *Server) visibleLocked(project, id string) bool { return s.st.owner[id] == project }

// foreign returns OpenAI's 404 for a request whose path names an object of
// another project than its key's, nil for any other request.
func (s *Server) foreign(r *http.Request) *apiError {
	if len(s.keys) == 0 {
		return nil
	}
	project := s.projectOf(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	for seg := range strings.SplitSeq(r.URL.Path, "/") {
		if owner, ok := s.st.owner[seg]; ok && owner != project {
			return notFound(s.st.kindOf(seg), seg)
		}
	}
	return nil
}
