package main

import (
	"context"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
)

// quietHandler tones down FerretDB's per-connection chatter at levels above debug:
//   - "Connection started" / "Connection stopped" become debug records (a driver pool opens and
//     closes connections all the time; a stop caused by the client resetting the socket is normal);
//   - an error response is logged by FerretDB as two WARN records, its wire header and the whole
//     pretty-printed response document; we drop the header and turn the document into one line with
//     the code and the message. The driver's `endSessions` (not implemented in FerretDB 1.24, sent by
//     every client on close) is dropped entirely.
//
// With -log-level debug every record passes unchanged.
type quietHandler struct {
	slog.Handler
}

var (
	errmsgRe   = regexp.MustCompile(`"errmsg": "((?:[^"\\]|\\.)*)"`)
	codeNameRe = regexp.MustCompile(`"codeName": "([^"]*)"`)
	codeRe     = regexp.MustCompile(`"code": (?:int32\()?(-?\d+)`)
)

func (h quietHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.Handler.Enabled(ctx, slog.LevelDebug) {
		return h.Handler.Handle(ctx, r)
	}

	msg := r.Message
	switch {
	case msg == "Connection started" || msg == "Connection stopped":
		if r.Level <= slog.LevelInfo || isClientHangup(r) {
			return nil
		}
	case strings.HasPrefix(msg, "Response header: "):
		return nil
	case strings.HasPrefix(msg, "Response message:"):
		errmsg := firstGroup(errmsgRe, msg)
		if strings.Contains(errmsg, "no such command: 'endSessions'") {
			return nil
		}
		nr := slog.NewRecord(r.Time, r.Level, "error response", r.PC)
		nr.AddAttrs(
			slog.String("code", firstGroup(codeRe, msg)),
			slog.String("codeName", firstGroup(codeNameRe, msg)),
			slog.String("errmsg", errmsg),
		)
		return h.Handler.Handle(ctx, nr)
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietHandler{h.Handler.WithAttrs(attrs)}
}

func (h quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{h.Handler.WithGroup(name)}
}

func isClientHangup(r slog.Record) bool {
	hangup := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "error" {
			s := a.Value.String()
			hangup = strings.Contains(s, "connection reset by peer") || strings.Contains(s, "i/o timeout") ||
				strings.Contains(s, "broken pipe")
		}
		return !hangup
	})
	return hangup
}

func firstGroup(re *regexp.Regexp, s string) string {
	m := re.FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	if u, err := strconv.Unquote(`"` + m[1] + `"`); err == nil {
		return u
	}
	return m[1]
}
