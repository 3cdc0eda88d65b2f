package dc_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atoll-edge/atoll/dc"
)

func TestParseBootstrapValues(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "bootstrap-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := dc.ParseBootstrapValues(data)
	if err != nil {
		t.Fatal(err)
	}
	if b.Name != "subcloud1" || b.SystemMode != dc.Simplex || b.ManagementSubnet != "192.168.101.0/24" ||
		b.SystemControllerGatewayAddress != "192.168.204.101" || b.ExternalOAMFloatingAddress != "10.10.10.12" {
		t.Fatalf("parsed %+v", b)
	}
	if b.Extra["docker_http_proxy"] != "http://proxy.example:3128" {
		t.Fatalf("unknown keys not kept in Extra: %v", b.Extra)
	}
	if _, ok := b.Extra["name"]; ok {
		t.Fatal("a known key also landed in Extra")
	}
}

func TestParseInstallValues(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "install-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := dc.ParseInstallValues(data)
	if err != nil {
		t.Fatal(err)
	}
	if v.BMCAddress != "128.224.64.180" || v.BMCUsername != "root" || v.BMCPassword != "s3cr3t" || v.BootstrapVLAN != 401 ||
		v.InstallType != 3 || v.BootDevice != "/dev/disk/by-path/pci-0000:5c:00.0-scsi-0:1:0:0" || v.Image != "http://192.168.101.2:8080/iso/24.09/images/bootimage.iso" {
		t.Fatalf("parsed %+v", v)
	}
	if v.Extra["console_type"] != "tty0" {
		t.Fatalf("unknown keys not kept in Extra: %v", v.Extra)
	}
}

func TestParseValuesRejects(t *testing.T) {
	for name, in := range map[string]string{
		"not YAML":           "name: [unclosed",
		"not a mapping":      "- a\n- b\n",
		"scalar document":    "just a string",
		"empty":              "",
		"duplicate key":      "name: a\nname: b\n",
		"list for a string":  "name: [a, b]\n",
		"map for a string":   "management_subnet: {a: 1}\n",
		"non-scalar key":     "? [a]\n: b\n",
		"integer not a word": "install_type: three\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := dc.ParseBootstrapValues([]byte(in))
			if name == "integer not a word" {
				_, err = dc.ParseInstallValues([]byte(in))
			}
			var ve *dc.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
		})
	}
}

// FuzzParseBootstrapValues checks that any input either parses or is
// refused with a *ValidationError, never a panic or another error.
func FuzzParseBootstrapValues(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join("testdata", "bootstrap-values.yaml")); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := dc.ParseBootstrapValues(data)
		if err != nil {
			var ve *dc.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, dc.ErrInvalid) {
				t.Fatalf("error is not a *ValidationError: %T %v", err, err)
			}
			if b != nil {
				t.Fatal("values returned with an error")
			}
			return
		}
		if b == nil {
			t.Fatal("nil values without an error")
		}
	})
}

func TestValidateDeployConfig(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		ok         bool
	}{
		{"one mapping", "kind: System\nname: s1\n", true},
		{"two documents", "kind: System\n---\nkind: Host\n", true},
		{"empty", "", false},
		{"scalar", "just text\n", false},
		{"list", "- a\n- b\n", false},
		{"second document a list", "kind: System\n---\n- a\n", false},
		{"malformed", "kind: [unclosed\n", false},
		{"too large", "k: " + strings.Repeat("x", dc.MaxDeployConfigSize) + "\n", false},
	} {
		err := dc.ValidateDeployConfig([]byte(tc.data))
		var ve *dc.ValidationError
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case !tc.ok && (!errors.As(err, &ve) || ve.Field != "deploy_config"):
			t.Errorf("%s: err = %v, want a ValidationError on deploy_config", tc.name, err)
		}
	}
}
