package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"reflect"
	"strconv"
	"strings"
)

// Media types the write routes accept.
const (
	mediaJSON      = "application/json"
	mediaMultipart = "multipart/form-data"
)

// form is a request body decoded from either multipart/form-data or JSON:
// text fields and file parts by name, each at most once.
type form struct {
	fields map[string]string
	files  map[string][]byte
}

// mediaType returns the request's media type, "" when there is no body.
func mediaType(r *http.Request) (string, map[string]string, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return "", nil, nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", nil, &requestError{status: http.StatusUnsupportedMediaType, code: CodeUnsupportedMedia,
			msg: fmt.Sprintf("malformed Content-Type %q", ct)}
	}
	return mt, params, nil
}

func unsupportedMedia(mt string) error {
	return &requestError{status: http.StatusUnsupportedMediaType, code: CodeUnsupportedMedia,
		msg: fmt.Sprintf("unsupported Content-Type %q: send %s or %s", mt, mediaJSON, mediaMultipart)}
}

// decodeJSON decodes one JSON value from r into v, refusing unknown fields,
// trailing data and wrong types, naming the field at fault.
func decodeJSON(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return jsonError(err)
		}
		return badRequest(CodeInvalidJSON, "", "request body holds more than one JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var (
		mbe *http.MaxBytesError
		te  *json.UnmarshalTypeError
		se  *json.SyntaxError
	)
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return badRequest(CodeInvalidJSON, "", "request body must be a JSON object, not %s", te.Value)
		}
		return badRequest(CodeInvalidJSON, field, "%s: must be %s, not %s", field, jsonKind(te.Type), te.Value)
	case errors.As(err, &se):
		return badRequest(CodeInvalidJSON, "", "malformed JSON at offset %d: %v", se.Offset, se)
	case errors.Is(err, io.EOF):
		return badRequest(CodeInvalidJSON, "", "empty request body")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest(CodeInvalidJSON, "", "truncated JSON body")
	}
	// encoding/json reports unknown fields as a plain error: `json: unknown field "x"`.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, _ = strconv.Unquote(name)
		return badRequest(CodeUnknownField, name, "unknown field %q", name)
	}
	return badRequest(CodeInvalidJSON, "", "malformed JSON: %v", err)
}

func jsonKind(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[flexString]():
		return "a name or an integer id"
	case reflect.TypeFor[flexBool]():
		return "a boolean"
	case reflect.TypeFor[flexInt]():
		return "an integer or a string of digits"
	}
	switch k := t.Kind().String(); k {
	case "int", "int64", "int32", "uint", "uint64":
		return "an integer"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "map", "struct":
		return "an object"
	case "slice":
		return "an array"
	default:
		return k
	}
}

// typeError is what the flexible JSON types below return for a value they
// refuse: encoding/json fills in the field path of an *UnmarshalTypeError, so
// jsonError can name the field.
func typeError[T any](b []byte) error {
	v := string(b)
	if len(v) > 40 {
		v = v[:40] + "..."
	}
	return &json.UnmarshalTypeError{Value: v, Type: reflect.TypeFor[T]()}
}

// flexString accepts a JSON string or number (group_id is either a name or
// an id) and keeps its text.
type flexString struct {
	Set   bool
	Value string
}

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &f.Value); err != nil {
			return err
		}
		f.Set = true
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil || strings.ContainsAny(string(n), ".eE-") {
		return typeError[flexString](b)
	}
	f.Set, f.Value = true, string(n)
	return nil
}

// flexBool accepts true/false or the strings "true"/"false" (the dcmanager
// CLI sends form values as strings).
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	var s string
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	} else {
		s = string(b)
	}
	v, err := parseBool(s)
	if err != nil {
		return typeError[flexBool](b)
	}
	*f = flexBool(v)
	return nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, nil
	case "false", "":
		return false, nil
	}
	return false, fmt.Errorf("must be true or false, not %q", s)
}

// flexInt accepts an integer or a string of digits (max_parallel_subclouds
// arrives as a string from the dcmanager CLI).
type flexInt struct {
	Set   bool
	Value int
}

func (f *flexInt) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	s := string(bytes.TrimSpace(b))
	if len(s) > 0 && s[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := parseDigits(s)
	if err != nil {
		return typeError[flexInt](b)
	}
	f.Set, f.Value = true, v
	return nil
}

func parseDigits(s string) (int, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" || len(s) > 9 {
		return 0, fmt.Errorf("must be an integer, not %q", s)
	}
	return strconv.Atoi(s)
}

// decodeBase64 decodes a base64 form value (sysadmin_password, bmc_password),
// accepting standard and URL alphabets, padded or not.
func decodeBase64(field, v string) (string, error) {
	v = strings.TrimSpace(v)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(v); err == nil {
			return string(b), nil
		}
	}
	return "", badRequest(CodeInvalidValue, field, "%s: not valid base64", field)
}

// readMultipart reads a multipart/form-data body into a form, refusing parts
// not named in allowed (files and fields alike) and repeated parts.
func readMultipart(r *http.Request, params map[string]string, allowed map[string]partKind) (*form, error) {
	boundary := params["boundary"]
	if boundary == "" {
		return nil, badRequest(CodeBadRequest, "", "multipart body without a boundary")
	}
	mr := multipart.NewReader(r.Body, boundary)
	f := &form{fields: map[string]string{}, files: map[string][]byte{}}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return f, nil
		}
		if err != nil {
			return nil, multipartError(err)
		}
		name := p.FormName()
		kind, ok := allowed[name]
		if !ok {
			return nil, badRequest(CodeUnknownField, name, "unknown field %q", name)
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return nil, multipartError(err)
		}
		if _, dup := f.fields[name]; dup {
			return nil, badRequest(CodeBadRequest, name, "%s: given more than once", name)
		}
		if _, dup := f.files[name]; dup {
			return nil, badRequest(CodeBadRequest, name, "%s: given more than once", name)
		}
		if kind == filePart {
			f.files[name] = data
		} else {
			f.fields[name] = string(data)
		}
	}
}

func multipartError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return badRequest(CodeBadRequest, "", "malformed multipart body: %v", err)
}

type partKind int

const (
	fieldPart partKind = iota
	filePart
)
