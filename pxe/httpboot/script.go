package httpboot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"text/template"

	"github.com/atoll-edge/atoll/pxe/imagestore"
)

// ErrUnknownHost is returned by a [HostLookup] or a [StatusSink] for a MAC
// address it does not know; the handler answers 404.
var ErrUnknownHost = errors.New("httpboot: unknown host")

// Host is what a host boots: kernel, initrds and command line.
type Host struct {
	// Name is the host's name (a subcloud name, a hostname), for logs and
	// templates.
	Name string
	// Profile is a free-form boot profile name a custom template may use.
	Profile string
	// Kernel is the name of an image in the image source, or an absolute
	// http(s) URL.
	Kernel string
	// Initrds are image names or absolute URLs, loaded in order.
	Initrds []string
	// Cmdline is the kernel command line. It must not contain control
	// characters.
	Cmdline string
}

// HostLookup finds the boot configuration of a host by MAC address.
type HostLookup interface {
	// LookupBootHost returns the host's boot configuration, or an error
	// matching [ErrUnknownHost].
	LookupBootHost(ctx context.Context, mac net.HardwareAddr) (Host, error)
}

// HostLookupFunc adapts a function to [HostLookup].
type HostLookupFunc func(ctx context.Context, mac net.HardwareAddr) (Host, error)

// LookupBootHost calls f.
func (f HostLookupFunc) LookupBootHost(ctx context.Context, mac net.HardwareAddr) (Host, error) {
	return f(ctx, mac)
}

// ScriptData is the value the iPXE script template is executed with.
type ScriptData struct {
	Host      Host
	MAC       string // aa:bb:cc:dd:ee:ff
	BaseURL   string // the handler's external URL, without trailing slash
	KernelURL string
	Initrds   []Initrd
	// Cmdline is Host.Cmdline; the default template appends
	// "initrd=NAME" for each initrd (needed by EFI kernels) and
	// "atoll.status_url=StatusURL".
	Cmdline   string
	StatusURL string // where the host POSTs its status
}

// Initrd is one initrd in a script: its URL and the name iPXE gives it.
type Initrd struct {
	Name string
	URL  string
}

// DefaultScript is the text of the default iPXE script template.
const DefaultScript = `#!ipxe
echo Atoll: booting {{.MAC}}{{with .Host.Name}} ({{.}}){{end}}
kernel {{.KernelURL}}{{range .Initrds}} initrd={{.Name}}{{end}}{{with .Cmdline}} {{.}}{{end}} atoll.status_url={{.StatusURL}}
{{range .Initrds}}initrd --name {{.Name}} {{.URL}}
{{end}}boot
`

// defaultScript is parsed once per handler by New (see newDefaultScript).
func newDefaultScript() *template.Template {
	return template.Must(template.New("ipxe").Parse(DefaultScript))
}

// ParseMAC parses a MAC address written with colons or hyphens and
// refuses anything but the 6-byte EUI-48 form.
func ParseMAC(s string) (net.HardwareAddr, error) {
	mac, err := net.ParseMAC(s)
	if err != nil {
		return nil, err
	}
	if len(mac) != 6 {
		return nil, fmt.Errorf("httpboot: %q is not a 6-byte MAC address", s)
	}
	return mac, nil
}

// serveScript answers GET /ipxe/{mac} and /ipxe/{mac}.ipxe with the host's
// rendered script.
func (h *Handler) serveScript(w http.ResponseWriter, r *http.Request, p string) {
	if h.opts.Hosts == nil {
		http.NotFound(w, r)
		return
	}
	if !methodGetHead(w, r) {
		return
	}
	mac, err := ParseMAC(strings.TrimSuffix(p, ".ipxe"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	host, err := h.opts.Hosts.LookupBootHost(r.Context(), mac)
	if errors.Is(err, ErrUnknownHost) {
		h.log.Info("script requested by unknown host", "mac", mac.String())
		http.NotFound(w, r)
		return
	}
	if err != nil {
		h.log.Error("host lookup failed", "mac", mac.String(), "err", err)
		http.Error(w, "host lookup failed", http.StatusInternalServerError)
		return
	}
	data, err := h.scriptData(r, mac, host)
	if err != nil {
		h.log.Error("bad boot configuration", "mac", mac.String(), "host", host.Name, "err", err)
		http.Error(w, "bad boot configuration", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := h.script.Execute(&buf, data); err != nil {
		h.log.Error("script template failed", "mac", mac.String(), "host", host.Name, "err", err)
		http.Error(w, "script template failed", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd["Content-Type"] = h.hv.textPlain
	hd["Cache-Control"] = h.hv.noStore
	hd.Set("Content-Length", fmt.Sprint(buf.Len()))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
	h.log.Info("script served", "mac", mac.String(), "host", host.Name, "profile", host.Profile)
}

func (h *Handler) scriptData(r *http.Request, mac net.HardwareAddr, host Host) (ScriptData, error) {
	base := h.baseURL(r)
	d := ScriptData{Host: host, MAC: mac.String(), BaseURL: base, Cmdline: host.Cmdline, StatusURL: StatusURL(base, mac)}
	if hasControl(host.Cmdline) || hasControl(host.Name) || hasControl(host.Profile) {
		return d, fmt.Errorf("control character in the host's name, profile or command line")
	}
	var err error
	if d.KernelURL, err = imageURL(base, host.Kernel); err != nil {
		return d, fmt.Errorf("kernel: %w", err)
	}
	seen := map[string]bool{}
	for i, in := range host.Initrds {
		u, err := imageURL(base, in)
		if err != nil {
			return d, fmt.Errorf("initrd %d: %w", i, err)
		}
		name := u[strings.LastIndexByte(u, '/')+1:]
		if j := strings.IndexAny(name, "?#"); j >= 0 {
			name = name[:j]
		}
		if name == "" || seen[name] {
			name = fmt.Sprintf("initrd%d", i)
		}
		seen[name] = true
		d.Initrds = append(d.Initrds, Initrd{Name: name, URL: u})
	}
	return d, nil
}

// imageURL turns an image name into its URL under base; absolute URLs pass.
func imageURL(base, ref string) (string, error) {
	if ref == "" {
		return "", fmt.Errorf("empty image reference")
	}
	if strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://") || strings.HasPrefix(ref, "tftp://") {
		if hasControl(ref) || strings.ContainsAny(ref, " \t") {
			return "", fmt.Errorf("bad URL %q", ref)
		}
		return ref, nil
	}
	if err := imagestore.ValidateName(ref); err != nil {
		return "", err
	}
	return base + PathImages + ref, nil
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}
