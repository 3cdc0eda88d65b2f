package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// cpioWriter writes a "newc" cpio archive, the format the kernel unpacks
// as an initramfs. Writing it here avoids needing root for device nodes.
type cpioWriter struct {
	w   *bufio.Writer
	n   int64
	ino int
}

func (c *cpioWriter) write(b []byte) error {
	m, err := c.w.Write(b)
	c.n += int64(m)
	return err
}

func (c *cpioWriter) pad() error {
	if r := c.n % 4; r != 0 {
		return c.write(make([]byte, 4-r))
	}
	return nil
}

func (c *cpioWriter) entry(name string, mode uint32, rdevMajor, rdevMinor int, data []byte) error {
	c.ino++
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdevMajor, rdevMinor, len(name)+1, 0)
	if err := c.write([]byte(hdr + name + "\x00")); err != nil {
		return err
	}
	if err := c.pad(); err != nil {
		return err
	}
	if err := c.write(data); err != nil {
		return err
	}
	return c.pad()
}

const (
	modeDir  = 0o040000
	modeFile = 0o100000
	modeLink = 0o120000
	modeChr  = 0o020000
)

// initScript is the guest's /init: lease with udhcpc, report
// install-complete to the URL on the kernel command line, power off.
const initScript = `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "atoll-e2e: initramfs running"
for m in MODULES; do
	insmod /lib/modules/$m.ko || echo "atoll-e2e: insmod $m failed"
done
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
ip link set lo up
ip link set eth0 up
url=$(sed -n 's/.*atoll\.status_url=\([^ ]*\).*/\1/p' /proc/cmdline)
if udhcpc -i eth0 -f -q -n -t 30 -T 2 -s /etc/udhcpc.script; then
	echo "atoll-e2e: lease $(ip -4 -o addr show eth0)"
	n=0
	until wget -q -O - --header 'Content-Type: application/json' \
		--post-data '{"state":"install-complete","message":"e2e initramfs"}' "$url"; do
		n=$((n+1))
		if [ $n -ge 5 ]; then echo "ATOLL-E2E-FAIL: callback to $url"; break; fi
		sleep 1
	done
	echo
	echo "atoll-e2e: callback done"
else
	echo "ATOLL-E2E-FAIL: no DHCP lease"
fi
poweroff -f
`

const udhcpcScript = `#!/bin/sh
case "$1" in
deconfig) ip addr flush dev "$interface" ;;
bound|renew)
	ip addr add "$ip/$mask" dev "$interface"
	[ -n "$router" ] && ip route add default via "$router"
	;;
esac
exit 0
`

// buildInitramfs writes an uncompressed cpio initramfs holding the static
// busybox, the NIC modules and the init script to path.
func buildInitramfs(path, busybox string, modules []string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	c := &cpioWriter{w: bufio.NewWriter(f)}
	for _, d := range []string{"bin", "dev", "etc", "lib", "lib/modules", "proc", "sys", "tmp", "run", "sbin", "usr", "usr/bin", "usr/sbin"} {
		if err := c.entry(d, modeDir|0o755, 0, 0, nil); err != nil {
			return err
		}
	}
	if err := c.entry("dev/console", modeChr|0o600, 5, 1, nil); err != nil {
		return err
	}
	bb, err := os.ReadFile(busybox)
	if err != nil {
		return err
	}
	if err := c.entry("bin/busybox", modeFile|0o755, 0, 0, bb); err != nil {
		return err
	}
	if err := c.entry("bin/sh", modeLink|0o777, 0, 0, []byte("busybox")); err != nil {
		return err
	}
	var names []string
	for _, m := range modules {
		b, err := os.ReadFile(m)
		if err != nil {
			return err
		}
		name := strings.TrimSuffix(filepath.Base(m), ".ko")
		names = append(names, name)
		if err := c.entry("lib/modules/"+name+".ko", modeFile|0o644, 0, 0, b); err != nil {
			return err
		}
	}
	script := strings.Replace(initScript, "MODULES", strings.Join(names, " "), 1)
	if err := c.entry("init", modeFile|0o755, 0, 0, []byte(script)); err != nil {
		return err
	}
	if err := c.entry("etc/udhcpc.script", modeFile|0o755, 0, 0, []byte(udhcpcScript)); err != nil {
		return err
	}
	if err := c.entry("TRAILER!!!", 0, 0, 0, nil); err != nil {
		return err
	}
	if err := c.w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
