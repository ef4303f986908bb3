package web

import (
	"errors"
	"io"

	"github.com/go-json-experiment/json/jsontext"

	"mailnet/internal/mailnet"
)

// jsonArray says how decodeArray names what it reads.
type jsonArray struct {
	Noun string // "events": "request body must be a JSON array of events"
	Unit string // "events": "a batch may carry at most 10000 events"
	Max  int    // elements at most: 413 past it, as soon as it is passed
	// BodyErr turns an error of the array's own syntax into the domain
	// error; nil: every such error names "body".
	BodyErr func(error) error
}

// bodyError is jsonError with the field "body": a body that is not JSON
// is the body's fault wherever it breaks (the message says where).
func bodyError(err error) error {
	e, _ := mailnet.AsError(jsonError(err))
	return mailnet.Errorf(e.Kind, "body", "%s", e.Message)
}

// decodeArray reads body as one JSON array, one element at a time: elem
// decodes element i from dec (and validates it) as it comes, so no more
// than the decoded elements is ever held and no whole-body copy is made.
// It refuses a body that is not an array, has data after it, is cut
// short, or holds more than a.Max elements; elem's error is returned as
// it is.
func decodeArray(body io.Reader, a jsonArray, elem func(i int, dec *jsontext.Decoder) error) error {
	bodyErr := a.BodyErr
	if bodyErr == nil {
		bodyErr = bodyError
	}
	dec := jsontext.NewDecoder(body)
	tok, err := dec.ReadToken()
	if err != nil {
		return bodyErr(err)
	}
	if tok.Kind() != '[' {
		return mailnet.Errorf(mailnet.KindMalformed, "body", "request body must be a JSON array of %s", a.Noun)
	}
	for i := 0; ; i++ {
		switch dec.PeekKind() {
		case ']':
			if _, err := dec.ReadToken(); err != nil {
				return bodyErr(err)
			}
			if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
				if err == nil {
					return mailnet.Errorf(mailnet.KindMalformed, "body", "request body has data after the JSON array")
				}
				return bodyErr(err)
			}
			return nil
		case 0: // an error: ReadToken reports it
			_, err := dec.ReadToken()
			return bodyErr(err)
		}
		if i >= a.Max {
			return mailnet.Errorf(mailnet.KindTooLarge, "body", "a batch may carry at most %d %s; split it", a.Max, a.Unit)
		}
		if err := elem(i, dec); err != nil {
			return err
		}
	}
}
