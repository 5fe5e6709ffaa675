package engine

import (
	"fmt"
	"strings"
)

// Errors the runtime returns read "hearsay: <what failed>: <why>", with one
// prefix however deep the wrapping: errorf takes the package prefixes off
// the messages of the errors it wraps (sentinels such as ErrNoSeeds, and
// codec's, carry their own so that they read well alone), while errors.Is
// and errors.As still see every wrapped error.

// errorPrefixes are the prefixes errorf takes off wrapped messages.
var errorPrefixes = []string{"hearsay: ", "codec: ", "netio: "}

// bare is an error whose message lacks its package prefix.
type bare struct{ err error }

func (b bare) Error() string {
	s := b.err.Error()
	for _, p := range errorPrefixes {
		s = strings.TrimPrefix(s, p)
	}
	return s
}

func (b bare) Unwrap() error { return b.err }

// errorf is fmt.Errorf with the "hearsay: " prefix added to format and
// taken off every error argument.
func errorf(format string, args ...any) error {
	for i, a := range args {
		if e, ok := a.(error); ok {
			args[i] = bare{e}
		}
	}
	return fmt.Errorf("hearsay: "+format, args...)
}

// opError returns err as the failure of op: "hearsay: op: <err without its
// prefix>", wrapping err.
func opError(op string, err error) error {
	return errorf("%s: %w", op, err)
}

// configError is what NewNode returns for an invalid Config: every problem
// Validate found, each a *FieldError, under one "hearsay: invalid config"
// prefix. Unwrap() []error returns them.
type configError struct{ errs []error }

// newConfigError wraps the joined errors of Validate.
func newConfigError(err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return &configError{j.Unwrap()}
	}
	return &configError{[]error{err}}
}

func (e *configError) Error() string {
	if len(e.errs) == 1 {
		return "hearsay: invalid config: " + e.errs[0].Error()
	}
	var b strings.Builder
	b.WriteString("hearsay: invalid config:")
	for _, err := range e.errs {
		b.WriteString("\n\t")
		b.WriteString(err.Error())
	}
	return b.String()
}

func (e *configError) Unwrap() []error { return e.errs }
