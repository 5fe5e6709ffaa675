package deploy_test

import (
	"fmt"
	"net"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestService(t *testing.T) {
	m := loadManifests(t)
	svc, c := m.svc, m.container(t)
	if svc.Spec.ClusterIP != "None" {
		t.Errorf("Service spec.clusterIP = %q, want None (headless: its name resolves to every pod's address)", svc.Spec.ClusterIP)
	}
	if !svc.Spec.PublishNotReadyAddresses {
		t.Errorf("Service spec.publishNotReadyAddresses = false, want true: a pod is ready only once it has joined, so seeds must resolve before any pod is ready")
	}
	if got, want := m.sts.Spec.ServiceName, svc.Metadata.Name; got != want {
		t.Errorf("StatefulSet spec.serviceName = %q, want the Service's name %q", got, want)
	}
	if len(svc.Spec.Selector) == 0 {
		t.Errorf("Service has no selector")
	}
	for k, v := range svc.Spec.Selector {
		if got := m.sts.Spec.Template.Metadata.Labels[k]; got != v {
			t.Errorf("pod template label %s = %q, want %q (the Service's selector)", k, got, v)
		}
	}
	want := map[string]int{"UDP": gossipPort, "TCP": httpPort}
	for _, p := range svc.Spec.Ports {
		number, proto, ok := c.port(p.TargetPort)
		switch {
		case !ok:
			t.Errorf("Service port %s: targetPort %v names no container port", p.Name, p.TargetPort)
		case proto != p.Protocol:
			t.Errorf("Service port %s: protocol %s, but its target is a %s port", p.Name, p.Protocol, proto)
		case number != p.Port:
			t.Errorf("Service port %s = %d, want the container port %d (SRV records give the service port)", p.Name, p.Port, number)
		case want[p.Protocol] != p.Port:
			t.Errorf("Service %s port = %d, want %d", p.Protocol, p.Port, want[p.Protocol])
		}
		delete(want, p.Protocol)
	}
	for proto, port := range want {
		t.Errorf("Service lacks the %s port %d", proto, port)
	}
}

func TestStatefulSet(t *testing.T) {
	m := loadManifests(t)
	sts := m.sts
	if got := sts.Spec.Replicas; got == nil || *got != replicas {
		t.Errorf("StatefulSet spec.replicas = %s, want %d", fmtInt(got), replicas)
	}
	if sts.Spec.PodManagementPolicy != "Parallel" {
		t.Errorf("StatefulSet spec.podManagementPolicy = %q, want Parallel (members start together; they need no order)", sts.Spec.PodManagementPolicy)
	}
	if len(sts.Spec.Selector.MatchLabels) == 0 {
		t.Errorf("StatefulSet has no spec.selector.matchLabels")
	}
	for k, v := range sts.Spec.Selector.MatchLabels {
		if got := sts.Spec.Template.Metadata.Labels[k]; got != v {
			t.Errorf("pod template label %s = %q, want %q (the StatefulSet's selector)", k, got, v)
		}
	}
	c := m.container(t)
	if c.Image == "" {
		t.Errorf("container has no image")
	}
	if len(c.Command) > 0 && path.Base(c.Command[0]) != "hearsayd" {
		t.Errorf("container command = %q, want none (the image's entrypoint, hearsayd)", c.Command)
	}
}

func TestArgs(t *testing.T) {
	m := loadManifests(t)
	c := m.container(t)
	args := argsOf(t, c)
	gossipName, gossip := c.portByProtocol(t, "UDP")
	httpName, http := c.portByProtocol(t, "TCP")
	if gossip != gossipPort || http != httpPort {
		t.Errorf("container ports %s/udp = %d, %s/tcp = %d, want %d and %d", gossipName, gossip, httpName, http, gossipPort, httpPort)
	}

	// Every $(VAR) must be defined in env: the kubelet leaves an undefined
	// reference in place, verbatim, which hearsayd would then try to parse.
	for _, a := range c.Args {
		for _, ref := range envRef.FindAllStringSubmatch(a, -1) {
			if _, ok := c.envField(ref[1]); !ok {
				t.Errorf("argument %q refers to $(%s), which env does not define", a, ref[1])
			}
		}
	}

	if got, want := args["bind"], net.JoinHostPort("0.0.0.0", strconv.Itoa(gossip)); got != want {
		t.Errorf("-bind = %q, want %q (every interface, the UDP container port)", got, want)
	}
	if got, want := args["http"], net.JoinHostPort("0.0.0.0", strconv.Itoa(http)); got != want {
		t.Errorf("-http = %q, want %q (probes and scrapes come from outside the pod, on the TCP container port)", got, want)
	}

	// -advertise: the pod's IP from the downward API, the gossip port.
	if host, port, err := net.SplitHostPort(args["advertise"]); err != nil || port != strconv.Itoa(gossip) || !strings.HasPrefix(host, "$(") {
		t.Errorf("-advertise = %q, want $(VAR):%d", args["advertise"], gossip)
	} else if f, _ := c.envField(strings.TrimSuffix(strings.TrimPrefix(host, "$("), ")")); f != "status.podIP" {
		t.Errorf("-advertise host %s comes from field %q, want status.podIP", host, f)
	}

	// -seeds: the headless Service's DNS name, <service>.<namespace>.svc.<domain>.
	seeds := strings.Split(args["seeds"], ",")
	if len(seeds) != 1 {
		t.Errorf("-seeds = %q, want one name: the Service's, which resolves to every pod", args["seeds"])
	}
	host, port, err := net.SplitHostPort(seeds[0])
	labels := strings.Split(host, ".")
	switch {
	case err != nil:
		t.Errorf("-seeds %q: %v", seeds[0], err)
	case port != strconv.Itoa(gossip):
		t.Errorf("-seeds port = %s, want the gossip port %d", port, gossip)
	case len(labels) < 4 || labels[0] != m.svc.Metadata.Name || labels[2] != "svc":
		t.Errorf("-seeds host = %q, want %s.<namespace>.svc.<cluster domain>", host, m.svc.Metadata.Name)
	case strings.HasPrefix(labels[1], "$("):
		if f, _ := c.envField(strings.TrimSuffix(strings.TrimPrefix(labels[1], "$("), ")")); f != "metadata.namespace" {
			t.Errorf("-seeds namespace %s comes from field %q, want metadata.namespace", labels[1], f)
		}
	case m.sts.Metadata.Namespace != "" && labels[1] != m.sts.Metadata.Namespace:
		t.Errorf("-seeds namespace = %q, but the StatefulSet is in %q", labels[1], m.sts.Metadata.Namespace)
	}

	// -key-file: a file of the Secret volume, a key of the example Secret.
	keyFile := args["key-file"]
	if _, ok := args["open"]; ok || keyFile == "" {
		t.Fatalf("args: -key-file %q, -open %v; want a sealed cluster: -key-file and no -open", keyFile, ok)
	}
	if ks, err := m.keySource(c, keyFile); err != nil {
		t.Errorf("-key-file %s: %v", keyFile, err)
	} else {
		if !ks.readOnly {
			t.Errorf("the Secret volume %q is mounted read-write, want readOnly", ks.volume)
		}
		if _, ok, err := m.secret.value(ks.key); !ok || err != nil {
			t.Errorf("-key-file %s is Secret key %q, which secret.example.json lacks (%v)", keyFile, ks.key, err)
		}
		// The kubelet adds group read when fsGroup is set; others must get
		// nothing, and nobody may write.
		if ks.mode == nil || *ks.mode&0o007 != 0 || *ks.mode&0o222 != 0 {
			t.Errorf("Secret volume %q mode = %s, want no access for others and no write (0400)", ks.volume, fmtMode(ks.mode))
		}
	}

	// -id-file: a writable volume (the root file system is read-only).
	idFile := args["id-file"]
	if idFile == "" {
		t.Errorf("no -id-file: every restart would be a new member")
	} else if vm, _ := c.mountOf(idFile); vm == nil || vm.ReadOnly {
		t.Errorf("-id-file %s is in no writable volume mount: the root file system is read-only", idFile)
	} else if v := m.volume(vm.Name); !m.claimTemplate(vm.Name) && (v == nil || v.EmptyDir == nil) {
		t.Errorf("-id-file %s: volume %q is neither a volumeClaimTemplate nor an emptyDir", idFile, vm.Name)
	}

	// The grace period covers the leave.
	leave := defaultLeaveTimeout
	if s, ok := args["leave-timeout"]; ok {
		if leave, err = time.ParseDuration(s); err != nil {
			t.Errorf("-leave-timeout %q: %v", s, err)
		}
	}
	grace := 30 * time.Second // the API's default
	if g := m.sts.Spec.Template.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = time.Duration(*g) * time.Second
	}
	if grace < leave+shutdownMargin {
		t.Errorf("terminationGracePeriodSeconds = %v, want at least -leave-timeout %v + %v: the kubelet kills the node before its leave has spread", grace, leave, shutdownMargin)
	}
}

func fmtInt(p *int) string {
	if p == nil {
		return "unset"
	}
	return strconv.Itoa(*p)
}

func fmtMode(m *int) string {
	if m == nil {
		return "unset (0644)"
	}
	return fmt.Sprintf("%#o", *m)
}

func TestProbes(t *testing.T) {
	m := loadManifests(t)
	c := m.container(t)
	_, http := c.portByProtocol(t, "TCP")
	for _, p := range []struct {
		name  string
		probe *probe
	}{{"readinessProbe", c.ReadinessProbe}, {"livenessProbe", c.LivenessProbe}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("container has no %s.httpGet", p.name)
			continue
		}
		g := p.probe.HTTPGet
		if g.Path != healthPath {
			t.Errorf("%s path = %q, want %s", p.name, g.Path, healthPath)
		}
		if number, proto, ok := c.port(g.Port); !ok || proto != "TCP" || number != http {
			t.Errorf("%s port %v = %d/%s, want the HTTP port %d/TCP", p.name, g.Port, number, proto, http)
		}
		if g.Scheme != "" && g.Scheme != "HTTP" {
			t.Errorf("%s scheme = %s, want HTTP", p.name, g.Scheme)
		}
	}
	if c.LivenessProbe != nil && c.ReadinessProbe != nil {
		live, ready := c.LivenessProbe.failureWindow(), c.ReadinessProbe.failureWindow()
		if live < minLivenessWindow || live <= ready {
			t.Errorf("liveness fails after %v (readiness after %v), want at least %v and longer than readiness: "+
				"/healthz fails while joining and while the cluster holds the node dead, and a restart must be the last resort",
				live, ready, minLivenessWindow)
		}
	}
}

func TestScrapeAnnotations(t *testing.T) {
	m := loadManifests(t)
	_, http := m.container(t).portByProtocol(t, "TCP")
	a := m.sts.Spec.Template.Metadata.Annotations
	for k, want := range map[string]string{
		"prometheus.io/scrape": "true",
		"prometheus.io/port":   strconv.Itoa(http),
		"prometheus.io/path":   metricsPath,
	} {
		if got := a[k]; got != want {
			t.Errorf("pod template annotation %s = %q, want %q", k, got, want)
		}
	}
}

func TestSecurityContext(t *testing.T) {
	m := loadManifests(t)
	pod := m.sts.Spec.Template.Spec
	c := m.container(t)
	sc := c.SecurityContext
	if sc == nil {
		t.Fatalf("container has no securityContext")
	}
	isTrue := func(b *bool) bool { return b != nil && *b }
	isFalse := func(b *bool) bool { return b != nil && !*b }
	if !isTrue(pod.SecurityContext.RunAsNonRoot) && !isTrue(sc.RunAsNonRoot) {
		t.Errorf("runAsNonRoot is not set: want true")
	}
	for _, uid := range []*int64{pod.SecurityContext.RunAsUser, sc.RunAsUser} {
		if uid != nil && *uid == 0 {
			t.Errorf("runAsUser = 0, want a non-root user")
		}
	}
	if !isTrue(sc.ReadOnlyRootFilesystem) {
		t.Errorf("container readOnlyRootFilesystem is not true")
	}
	if !isFalse(sc.AllowPrivilegeEscalation) {
		t.Errorf("container allowPrivilegeEscalation is not false")
	}
	if isTrue(sc.Privileged) {
		t.Errorf("container is privileged")
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
		t.Errorf("container capabilities = %+v, want drop [ALL] and nothing added (hearsayd binds ports above 1024)", sc.Capabilities)
	}
	seccomp := pod.SecurityContext.SeccompProfile
	if sc.SeccompProfile != nil {
		seccomp = sc.SeccompProfile
	}
	if seccomp == nil || seccomp.Type != "RuntimeDefault" {
		t.Errorf("seccompProfile = %+v, want RuntimeDefault", seccomp)
	}
	if !isFalse(pod.AutomountServiceAccountToken) {
		t.Errorf("automountServiceAccountToken is not false: hearsayd never calls the Kubernetes API")
	}
	for _, r := range []struct {
		what string
		m    map[string]string
		key  string
	}{
		{"requests", c.Resources.Requests, "cpu"},
		{"requests", c.Resources.Requests, "memory"},
		{"limits", c.Resources.Limits, "memory"},
	} {
		if r.m[r.key] == "" {
			t.Errorf("container resources.%s.%s is not set", r.what, r.key)
		}
	}
}

func TestSecretExample(t *testing.T) {
	m := loadManifests(t)
	d := m.secret.Metadata.Annotations["description"]
	if !strings.Contains(d, "head -c 32 /dev/urandom | base64") {
		t.Errorf("Secret description annotation = %q, want it to say how to make a key: head -c 32 /dev/urandom | base64", d)
	}
	if m.secret.Type != "" && m.secret.Type != "Opaque" {
		t.Errorf("Secret type = %q, want Opaque", m.secret.Type)
	}
}
