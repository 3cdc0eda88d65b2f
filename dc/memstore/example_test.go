package memstore_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/memstore"
)

// Example shows the in-memory store behind a Manager: it starts with the
// Default group, and its compare-and-swap refuses a stale revision.
func Example() {
	ctx := context.Background()
	st := memstore.New()
	groups, _ := st.ListGroups(ctx)
	fmt.Println(len(groups), groups[0].Name)

	g := *groups[0]
	g.Description = "first writer"
	if _, err := st.UpdateGroup(ctx, &g); err != nil {
		panic(err)
	}
	g.Description = "second writer, stale revision"
	_, err := st.UpdateGroup(ctx, &g)
	fmt.Println(err != nil && errors.Is(err, dc.ErrConflict))
	// Output:
	// 1 Default
	// true
}
