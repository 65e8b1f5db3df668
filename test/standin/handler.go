package standin

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Step names one endpoint of the maintenance API, for faults and history.
type Step string

// The steps of the protocol.
const (
	StepVersion     Step = "version"      // GET /rest/api/1.0/application-properties
	StepLock        Step = "lock"         // POST /mvc/maintenance/lock
	StepStartBackup Step = "start-backup" // POST /mvc/admin/backups?external=true
	StepStatus      Step = "status"       // GET /mvc/maintenance
	StepProgress    Step = "progress"     // POST /mvc/admin/backups/progress/client
	StepUnlock      Step = "unlock"       // DELETE /mvc/maintenance/lock
	StepCancel      Step = "cancel"       // POST /mvc/maintenance?token=<cancelToken>
	StepAdminPerms  Step = "admin-perms"  // GET /rest/api/1.0/admin/permissions/users
	StepMeshNodes   Step = "mesh-nodes"   // GET /rest/api/latest/admin/git/mesh/nodes
	StepPage        Step = "page"         // anything else: the pages users see
)

type route struct {
	method, path string
	step         Step
	noAuth       bool
	handle       func(*Server, *http.Request) reply
}

var routes = []route{
	{http.MethodGet, "/rest/api/1.0/application-properties", StepVersion, true, (*Server).version},
	{http.MethodPost, "/mvc/maintenance/lock", StepLock, false, (*Server).lock},
	{http.MethodDelete, "/mvc/maintenance/lock", StepUnlock, false, (*Server).unlock},
	{http.MethodPost, "/mvc/admin/backups", StepStartBackup, false, (*Server).startBackup},
	{http.MethodGet, "/mvc/maintenance", StepStatus, false, (*Server).status},
	{http.MethodPost, "/mvc/maintenance", StepCancel, false, (*Server).cancelTask},
	{http.MethodPost, "/mvc/admin/backups/progress/client", StepProgress, false, (*Server).progress},
	{http.MethodGet, "/rest/api/1.0/admin/permissions/users", StepAdminPerms, false, (*Server).adminPermissions},
	{http.MethodGet, "/rest/api/latest/admin/git/mesh/nodes", StepMeshNodes, false, (*Server).meshNodes},
	{http.MethodGet, "/rest/api/1.0/admin/git/mesh/nodes", StepMeshNodes, false, (*Server).meshNodes},
}

// reply is an answer before it is written: handlers return one, so that a
// fault can replace it after the handler had its effect.
type reply struct {
	status int
	body   any // JSON-encoded when not nil
	header http.Header
}

func errorReply(status int, msg string) reply {
	type item struct {
		Context       *string `json:"context"`
		Message       string  `json:"message"`
		ExceptionName *string `json:"exceptionName"`
	}
	return reply{status: status, body: map[string][]item{"errors": {{Message: msg}}}}
}

// ServeHTTP answers one request and records it in the history.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt, known := lookup(r)
	var rep reply
	switch {
	case known && rt.method == r.Method:
		rep = s.serveStep(r, rt)
	case known:
		rep = errorReply(http.StatusMethodNotAllowed, r.Method+" is not supported on "+r.URL.Path)
	default:
		rep = s.page()
	}
	s.record(Event{Kind: EventRequest, Step: rt.step, Method: r.Method, Path: r.URL.Path, Status: rep.status})
	s.log.Debug("standin request", "method", r.Method, "path", r.URL.Path, "status", rep.status)
	write(w, rep)
}

// lookup finds the route of r's path, preferring the one of r's method.
func lookup(r *http.Request) (route, bool) {
	path := strings.TrimRight(r.URL.Path, "/")
	var found route
	ok := false
	for _, rt := range routes {
		if rt.path == path {
			if rt.method == r.Method {
				return rt, true
			}
			found, ok = rt, true
		}
	}
	if !ok {
		found.step = StepPage
	}
	return found, ok
}

// serveStep applies the step's fault, if one is armed, around its handler.
func (s *Server) serveStep(r *http.Request, rt route) reply {
	f, armed := s.takeFault(rt.step)
	if armed && f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return errorReply(http.StatusServiceUnavailable, "the request was abandoned")
		}
	}
	if armed && f.Status != 0 && !f.AfterEffect {
		return errorReply(f.Status, "stand-in fault on "+string(rt.step))
	}
	rep := s.authenticate(r, rt)
	if rep.status == 0 {
		rep = rt.handle(s, r)
	}
	if armed && f.Status != 0 {
		rep = errorReply(f.Status, "stand-in fault on "+string(rt.step)+", after it took effect")
	}
	return rep
}

// authenticate returns a 401 reply for a request without valid credentials,
// a 403 for an account without SYSADMIN permission, and the zero reply
// otherwise.
func (s *Server) authenticate(r *http.Request, rt route) reply {
	if rt.noAuth || s.authorized(r) {
		return reply{}
	}
	if s.nonAdmin(r) {
		return errorReply(http.StatusForbidden, "You are not permitted to access this resource: it requires the SYS_ADMIN permission.")
	}
	rep := errorReply(http.StatusUnauthorized, "Authentication failed. Please check your credentials and try again.")
	rep.header = http.Header{"Www-Authenticate": {`Basic realm="Bitbucket"`}}
	return rep
}

func (s *Server) authorized(r *http.Request) bool {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return s.opts.Token != "" && equal(tok, s.opts.Token)
	}
	user, pass, ok := r.BasicAuth()
	return ok && s.opts.User != "" && equal(user, s.opts.User) && equal(pass, s.opts.Password)
}

// nonAdmin reports whether r logs in as one of Options.NonAdmins.
func (s *Server) nonAdmin(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	want, known := s.opts.NonAdmins[user]
	return ok && known && equal(pass, want)
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// page answers the pages users and git clients see: the maintenance page
// while locked.
func (s *Server) page() reply {
	if s.Locked() {
		return errorReply(http.StatusServiceUnavailable, "Bitbucket is undergoing maintenance. Please try again later.")
	}
	return reply{status: http.StatusOK, body: map[string]string{"page": "ok"}}
}

func write(w http.ResponseWriter, rep reply) {
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	if rep.body == nil {
		w.WriteHeader(rep.status)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(rep.status)
	_ = json.NewEncoder(w).Encode(rep.body)
}
