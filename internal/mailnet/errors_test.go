package mailnet

import (
	"errors"
	"fmt"
	"testing"
)

func TestOneNotFoundIdiom(t *testing.T) {
	for _, err := range []error{
		ErrNotFound,
		fmt.Errorf("server 9: %w", ErrNotFound),
		NotFound("server", 9),
		fmt.Errorf("update server 9: %w", NotFound("server", 9)),
		Errorf(KindNotFound, "", "no such page: %s", "/x"),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("errors.Is(%v, ErrNotFound) = false, want true", err)
		}
	}
	for _, err := range []error{Invalid("name", "bad"), Conflict("busy"), errors.New("not found")} {
		if errors.Is(err, ErrNotFound) {
			t.Errorf("errors.Is(%v, ErrNotFound) = true, want false", err)
		}
	}
}
