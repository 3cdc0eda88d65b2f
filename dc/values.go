package dc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaxValuesSize bounds the size of a bootstrap or install values file.
const MaxValuesSize = 1 << 20

// MaxDeployConfigSize bounds the size of a deploy config file.
const MaxDeployConfigSize = 1 << 20

// ValidateDeployConfig checks a deploy config file: at most
// MaxDeployConfigSize bytes, one or more YAML documents, each a mapping
// (StarlingX deploy configs are multi-document streams of resources). The
// content is the Config phase's to interpret. Errors are *ValidationError
// with Field "deploy_config".
func ValidateDeployConfig(data []byte) error {
	const field = "deploy_config"
	if len(data) > MaxDeployConfigSize {
		return &ValidationError{Field: field, Reason: fmt.Sprintf("is larger than %d bytes", MaxDeployConfigSize)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for n := 0; ; n++ {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			if n == 0 {
				return &ValidationError{Field: field, Reason: "is empty"}
			}
			return nil
		}
		if err != nil {
			return &ValidationError{Field: field, Reason: "malformed YAML: " + err.Error()}
		}
		if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
			return &ValidationError{Field: field, Reason: fmt.Sprintf("document %d is not a YAML mapping", n+1)}
		}
	}
}

// yamlMapping decodes data as one YAML mapping and calls known for each
// key; known reports false for keys it does not take, which go to extra.
func yamlMapping(file string, data []byte, known func(key string, v *yaml.Node) (bool, error)) (map[string]any, error) {
	if len(data) > MaxValuesSize {
		return nil, &ValidationError{Field: file, Reason: fmt.Sprintf("is larger than %d bytes", MaxValuesSize)}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &ValidationError{Field: file, Reason: "malformed YAML: " + err.Error()}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, &ValidationError{Field: file, Reason: "is not a YAML mapping"}
	}
	m := doc.Content[0]
	extra := map[string]any{}
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, &ValidationError{Field: file, Reason: fmt.Sprintf("line %d: key is not a scalar", k.Line)}
		}
		key := k.Value
		if seen[key] {
			return nil, &ValidationError{Field: key, Reason: fmt.Sprintf("line %d: defined twice", k.Line)}
		}
		seen[key] = true
		ok, err := known(key, v)
		if err != nil {
			return nil, err
		}
		if ok {
			continue
		}
		var x any
		if err := v.Decode(&x); err != nil {
			return nil, &ValidationError{Field: key, Reason: fmt.Sprintf("line %d: %v", v.Line, err)}
		}
		extra[key] = x
	}
	return extra, nil
}

func yamlString(key string, v *yaml.Node) (string, error) {
	if v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	if v.Kind != yaml.ScalarNode {
		return "", &ValidationError{Field: key, Reason: fmt.Sprintf("line %d: want a scalar value", v.Line)}
	}
	if v.Tag == "!!null" {
		return "", nil
	}
	return v.Value, nil
}

func yamlInt(key string, v *yaml.Node) (int, error) {
	s, err := yamlString(key, v)
	if err != nil || s == "" {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, &ValidationError{Field: key, Reason: fmt.Sprintf("line %d: %q is not an integer", v.Line, s)}
	}
	return n, nil
}

// ParseBootstrapValues parses a dcmanager bootstrap values file. Known keys
// are typed; the others are kept in Extra. Malformed YAML, a document that
// is not a mapping and values of the wrong type are *ValidationError. The
// values themselves are checked by Manager.AddSubcloud.
func ParseBootstrapValues(data []byte) (*BootstrapValues, error) {
	b := &BootstrapValues{}
	fields := map[string]*string{
		"name":                             &b.Name,
		"description":                      &b.Description,
		"location":                         &b.Location,
		"management_subnet":                &b.ManagementSubnet,
		"management_start_address":         &b.ManagementStartAddress,
		"management_end_address":           &b.ManagementEndAddress,
		"management_gateway_address":       &b.ManagementGatewayAddress,
		"systemcontroller_gateway_address": &b.SystemControllerGatewayAddress,
		"external_oam_subnet":              &b.ExternalOAMSubnet,
		"external_oam_gateway_address":     &b.ExternalOAMGatewayAddress,
		"external_oam_floating_address":    &b.ExternalOAMFloatingAddress,
	}
	extra, err := yamlMapping("bootstrap_values", data, func(key string, v *yaml.Node) (bool, error) {
		if key == "system_mode" {
			s, err := yamlString(key, v)
			b.SystemMode = SystemMode(s)
			return true, err
		}
		dst, ok := fields[key]
		if !ok {
			return false, nil
		}
		s, err := yamlString(key, v)
		*dst = s
		return true, err
	})
	if err != nil {
		return nil, err
	}
	b.Extra = extra
	return b, nil
}

// ParseInstallValues parses a dcmanager install values file. Known keys are
// typed; the others are kept in Extra. The values are checked by
// Manager.AddSubcloud and Manager.UpdateSubcloud.
func ParseInstallValues(data []byte) (*InstallValues, error) {
	v := &InstallValues{}
	strs := map[string]*string{
		"bmc_address":         &v.BMCAddress,
		"bmc_username":        &v.BMCUsername,
		"bmc_password":        &v.BMCPassword,
		"bootstrap_interface": &v.BootstrapInterface,
		"bootstrap_address":   &v.BootstrapAddress,
		"network_address":     &v.NetworkAddress,
		"image":               &v.Image,
		"boot_device":         &v.BootDevice,
		"rootfs_device":       &v.RootfsDevice,
		"software_version":    &v.SoftwareVersion,
	}
	ints := map[string]*int{
		"bootstrap_vlan": &v.BootstrapVLAN,
		"network_mask":   &v.NetworkMask,
		"install_type":   &v.InstallType,
	}
	extra, err := yamlMapping("install_values", data, func(key string, n *yaml.Node) (bool, error) {
		if dst, ok := strs[key]; ok {
			s, err := yamlString(key, n)
			*dst = s
			return true, err
		}
		if dst, ok := ints[key]; ok {
			i, err := yamlInt(key, n)
			*dst = i
			return true, err
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	if len(extra) > 0 {
		v.Extra = extra
	}
	return v, nil
}
