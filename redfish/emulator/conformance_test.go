package emulator_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/atoll-edge/atoll/redfish/emulator"
	"github.com/atoll-edge/atoll/redfish/redfishtest"
)

// TestSchemaConformance guards what DMTF's Redfish-Service-Validator found
// (examples/bmc-emulator/validate.sh runs it): collections carry no Id (their
// schemas define none), roles carry the RoleId that Role.v1_3 requires, and
// no string URI property (OperatingSpeedRangeMHz.DataSourceUri and the
// like) names a resource the BMC does not serve.
func TestSchemaConformance(t *testing.T) {
	for _, p := range emulator.Profiles() {
		em := redfishtest.NewEmulator(t, p, redfishtest.Options{})
		c := newRaw(t, em)
		c.login()
		roles := 0
		c.walkTree("/redfish/v1", func(path string, r reply) {
			if r.status != http.StatusOK {
				t.Errorf("%s: GET %s: %d", p, path, r.status)
				return
			}
			typ, _ := r.body["@odata.type"].(string)
			_, hasID := r.body["Id"]
			switch {
			case strings.HasSuffix(typ, "Collection") && hasID:
				t.Errorf("%s: collection %s (%s) has an Id", p, path, typ)
			case typ != "" && !strings.HasSuffix(typ, "Collection") && path != "/redfish/v1" && !hasID:
				t.Errorf("%s: %s (%s) has no Id", p, path, typ)
			}
			if strings.HasPrefix(typ, "#Role.") {
				roles++
				if id, rid := str(r.body, "Id"), str(r.body, "RoleId"); rid == "" || rid != id {
					t.Errorf("%s: role %s: RoleId %q, Id %q", p, path, rid, id)
				}
			}
		})
		if roles != 3 {
			t.Errorf("%s: %d roles, want Administrator, Operator and ReadOnly", p, roles)
		}
	}
}
