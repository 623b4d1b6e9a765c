package hookbridge_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/hookbridge/hookbridge"
)

var updateContract = flag.Bool("update-contract", false, "rewrite testdata/contract.golden.json from the current types")

// contractTypes are the types that histories and users decode: the inputs
// and results of the ready-made workflows and the result of every event
// workflow.
var contractTypes = map[string]any{
	"BackgroundResponseInput":  hookbridge.BackgroundResponseInput{},
	"BackgroundResponseResult": hookbridge.BackgroundResponseResult{},
	"BatchInput":               hookbridge.BatchInput{},
	"BatchResult":              hookbridge.BatchResult{},
	"FineTuningJobInput":       hookbridge.FineTuningJobInput{},
	"FineTuningJobResult":      hookbridge.FineTuningJobResult{},
	"EvalRunInput":             hookbridge.EvalRunInput{},
	"EvalRunResult":            hookbridge.EvalRunResult{},
	"EventResult":              hookbridge.EventResult{},
}

const contractGolden = "testdata/contract.golden.json"

// The JSON of the contract types keeps its shape: running workflows hold it
// in their histories, and users decode it. Each type is encoded twice, as
// its zero value and with every field set (to a value derived from the
// field's path, so that moving a field or changing its type shows). The
// golden file was written from the types as they were in package
// workflows. A field may be added; none may be renamed, removed or encoded
// differently.
func TestContractJSONIsUnchanged(t *testing.T) {
	got := map[string]map[string]any{}
	for name, zero := range contractTypes {
		full := reflect.New(reflect.TypeOf(zero)).Elem()
		fill(full, name)
		got[name] = map[string]any{"zero": decoded(t, zero), "full": decoded(t, full.Interface())}
	}
	if *updateContract {
		b, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(contractGolden, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(contractGolden)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]map[string]any
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	for name, forms := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("%s: no longer tested", name)
			continue
		}
		for form, w := range forms {
			for _, diff := range missingFrom(w, got[name][form], name) {
				t.Errorf("%s (%s): %s", name, form, diff)
			}
		}
	}
}

// decoded is v encoded as JSON and decoded into plain values.
func decoded(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var d any
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// missingFrom lists what of want got lacks or holds differently; keys of
// objects that want lacks are additions, allowed.
func missingFrom(want, got any, path string) []string {
	w, isObject := want.(map[string]any)
	if !isObject {
		if !reflect.DeepEqual(want, got) {
			return []string{fmt.Sprintf("%s = %v, want %v", path, got, want)}
		}
		return nil
	}
	g, ok := got.(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("%s = %v, want an object", path, got)}
	}
	var diffs []string
	for k, wv := range w {
		gv, ok := g[k]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s.%s missing", path, k))
			continue
		}
		diffs = append(diffs, missingFrom(wv, gv, path+"."+k)...)
	}
	return diffs
}

// fill sets every field reachable from v to a value derived from its path.
func fill(v reflect.Value, path string) {
	h := fnv.New32a()
	h.Write([]byte(path))
	n := int64(h.Sum32()%10000) + 1
	switch {
	case v.Type() == reflect.TypeFor[json.RawMessage]():
		v.SetBytes([]byte(`{"at":"` + path + `"}`))
	case v.Type() == reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(time.Unix(1_700_000_000+n, 0).UTC()))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(path)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(n)
	case reflect.Float64:
		v.SetFloat(float64(n) + 0.5)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), path)
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				fill(v.Field(i), path+"."+f.Name)
			}
		}
	case reflect.Slice:
		if v.Type() != reflect.TypeFor[json.RawMessage]() {
			v.Set(reflect.MakeSlice(v.Type(), 1, 1))
			fill(v.Index(0), path+"[0]")
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e, path+"[k]")
		v.SetMapIndex(reflect.ValueOf("k").Convert(v.Type().Key()), e)
	default:
		panic(fmt.Sprintf("fill: %s has kind %s", path, v.Kind()))
	}
}
