package imagestore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/atoll-edge/atoll/pxe/imagestore"
)

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "imagestore-example")
	defer os.RemoveAll(dir)

	store, err := imagestore.Open(dir, imagestore.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()

	// Register a kernel, naming the digest it must have.
	_, err = store.Register(ctx, "vmlinuz", "6.1.0", strings.NewReader("kernel bytes"),
		"d5b2d5e6cd7ac1b6e0e36fb3e1b1bd4a6d8c9a2ef0c1f1e47b0a4c2a52a10ad7")
	fmt.Println(errors.Is(err, imagestore.ErrChecksumMismatch))

	img, err := store.Register(ctx, "vmlinuz", "6.1.0", strings.NewReader("kernel bytes"), "")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(img.Name, img.Version, img.Size)
	fmt.Println(store.Verify(ctx, "vmlinuz"))

	u, _ := store.URL(ctx, "http://192.0.2.1:8080", "vmlinuz")
	fmt.Println(u)
	// Output:
	// true
	// vmlinuz 6.1.0 12
	// <nil>
	// http://192.0.2.1:8080/images/vmlinuz
}
