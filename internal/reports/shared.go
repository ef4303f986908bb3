package reports

import (
	"context"
	"fmt"

	"golang.org/x/sync/singleflight"
)

// startShared starts the build of key in g, or joins the one in flight:
// build runs once for every caller of the same key, detached from the
// cancellation of the request that started it (so that one client going
// away does not fail the others) and bounded by cacheBuildTimeout; a
// panic in it becomes the error every caller gets instead of crashing
// the process. what names the build in that error.
func startShared[T any](ctx context.Context, g *singleflight.Group, key, what string, build func(context.Context) (T, error)) <-chan singleflight.Result {
	return g.DoChan(key, func() (v any, err error) {
		defer func() {
			if p := recover(); p != nil {
				v, err = nil, fmt.Errorf("%s: panic: %v", what, p)
			}
		}()
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cacheBuildTimeout)
		defer cancel()
		return build(bctx)
	})
}

// awaitShared waits for a build startShared started, or for ctx.
func awaitShared[T any](ctx context.Context, ch <-chan singleflight.Result) (T, error) {
	var zero T
	select {
	case r := <-ch:
		if r.Err != nil {
			return zero, r.Err
		}
		return r.Val.(T), nil
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}
