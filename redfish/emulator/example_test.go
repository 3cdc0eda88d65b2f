package emulator_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"

	"github.com/atoll-edge/atoll/redfish/emulator"
)

// Example runs a Dell-flavoured BMC, logs in, sets a one-time boot from the
// virtual CD, inserts an image (which the emulator really downloads) and
// powers the host on: OnBoot reports the image the host booted from.
func Example() {
	images := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(bytes.Repeat([]byte("x"), 1<<20))
	}))
	defer images.Close()

	bmc, err := emulator.New(emulator.Options{
		Profile:     emulator.ProfileDell,
		SettleDelay: -1, // no iDRAC settle delay in this example
		OnBoot: func(ev emulator.BootEvent) {
			fmt.Printf("host booted from %s: %s (%d bytes)\n", ev.Target, path.Base(ev.Image), ev.ImageSize)
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer bmc.Close()
	srv := httptest.NewServer(bmc)
	defer srv.Close()
	l := bmc.Layout()

	call := func(method, p, token string, body any) (*http.Response, map[string]any) {
		data, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, srv.URL+p, bytes.NewReader(data))
		req.Header.Set("X-Auth-Token", token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		return resp, m
	}

	resp, _ := call("POST", "/redfish/v1/SessionService/Sessions", "", map[string]string{"UserName": "admin", "Password": "password"})
	token := resp.Header.Get("X-Auth-Token")
	fmt.Println("login:", resp.Status, strings.HasPrefix(resp.Header.Get("Location"), "/redfish/v1/SessionService/Sessions/"))

	_, sys := call("GET", l.System, token, nil)
	fmt.Println(sys["Manufacturer"], sys["Model"], sys["PowerState"])

	resp, _ = call("PATCH", l.System, token, map[string]any{"Boot": map[string]any{
		"BootSourceOverrideTarget": "Cd", "BootSourceOverrideEnabled": "Once"}})
	fmt.Println("boot override:", resp.Status)

	resp, _ = call("POST", l.CD+"/Actions/VirtualMedia.InsertMedia", token, map[string]any{"Image": images.URL + "/installer.iso"})
	fmt.Println("insert:", resp.Status)

	resp, _ = call("POST", l.System+"/Actions/ComputerSystem.Reset", token, map[string]any{"ResetType": "On"})
	fmt.Println("reset:", resp.Status)

	resp, body := call("POST", l.System+"/Actions/ComputerSystem.Reset", token, map[string]any{"ResetType": "On"})
	fmt.Println("again:", resp.Status, body["error"].(map[string]any)["code"])

	// Output:
	// login: 201 Created true
	// Dell Inc. PowerEdge R650 Off
	// boot override: 200 OK
	// insert: 204 No Content
	// host booted from Cd: installer.iso (1048576 bytes)
	// reset: 204 No Content
	// again: 409 Conflict Base.1.16.ResourceInUse
}
