package modbin_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/hookbridge/hookbridge/internal/modbin"
)

func TestDirIsBinAtTheModuleRoot(t *testing.T) {
	got, err := modbin.Dir()
	if err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	if want := filepath.Join(root, "bin"); got != want {
		t.Errorf("Dir() = %q, want %q", got, want)
	}
}

func TestDirOutsideAModule(t *testing.T) {
	t.Chdir(t.TempDir())
	if _, err := modbin.Dir(); !errors.Is(err, modbin.ErrNoModule) {
		t.Errorf("Dir() error = %v, want ErrNoModule", err)
	}
}
