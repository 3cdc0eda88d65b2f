package redfish_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"

	"github.com/atoll-edge/atoll/redfish"
	"github.com/atoll-edge/atoll/redfish/emulator"
)

// Install a host through its BMC, here an emulated Supermicro BMC, from an
// image served over HTTP. The host reports install-complete when it boots
// from the image.
func ExampleRemoteInstall() {
	image := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("atoll", 1024)))
	}))
	defer image.Close()
	imageURL := image.URL + "/installer.iso"

	var installed atomic.Bool
	bmc, err := emulator.New(emulator.Options{
		Profile:  emulator.ProfileSupermicro,
		Username: "admin", Password: "secret",
		OnBoot: func(ev emulator.BootEvent) { installed.Store(ev.Image == imageURL) },
	})
	if err != nil {
		panic(err)
	}
	defer bmc.Close()
	srv := httptest.NewServer(bmc)
	defer srv.Close()

	ctx := context.Background()
	// An emulator needs no settle margin after media and power changes.
	opts := redfish.Options{SettleDelay: -1}
	c, err := redfish.Dial(ctx, redfish.Endpoint{Address: srv.URL, Username: "admin", Password: "secret"}, opts)
	if err != nil {
		panic(err)
	}
	defer c.Close(ctx)

	err = redfish.RemoteInstall(ctx, c, redfish.InstallSpec{
		ImageURL: imageURL,
		BootMode: redfish.BootUEFI,
		Complete: func(context.Context) (bool, error) { return installed.Load(), nil },
	}, redfish.InstallOptions{
		OnEvent: func(ev redfish.Event) {
			if ev.State != redfish.StepStarted {
				fmt.Println(ev.Step, ev.State)
			}
		},
	})
	fmt.Println("vendor:", c.Vendor(), "error:", err)
	// Output:
	// read-state done
	// eject skipped
	// power-off skipped
	// insert-media done
	// boot-once done
	// power-on done
	// wait-install done
	// vendor: supermicro error: <nil>
}
