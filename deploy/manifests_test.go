package deploy_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The files under test, relative to this directory.
const (
	dockerfile   = "Dockerfile"
	manifestsDir = "kubernetes"
)

// What the deployment is built around (README.md). The tests mostly check
// that the files agree with each other; these pin the few fixed values.
const (
	gossipPort  = 7946
	httpPort    = 8080
	replicas    = 5
	healthPath  = "/healthz"
	metricsPath = "/metrics"
	// defaultLeaveTimeout is hearsayd's -leave-timeout default.
	defaultLeaveTimeout = 5 * time.Second
	// shutdownMargin is what the grace period must leave beyond the leave
	// timeout: closing the node and the HTTP server (up to 1 s), and the
	// time the kubelet takes to deliver SIGTERM.
	shutdownMargin = 5 * time.Second
	// minLivenessWindow bounds from below how long /healthz may fail before
	// the kubelet restarts the container: a join attempt lasts 10 s and a
	// node the cluster holds dead backs off up to 30 s between rejoin
	// tries, so liveness must outlast several of either.
	minLivenessWindow = 60 * time.Second
)

// Local mirrors of the Kubernetes API fields the manifests use. Decoding
// rejects unknown fields, so a misspelt field name fails here; a field
// added to a manifest must be added here too.

type objectMeta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

type service struct {
	typeMeta
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		ClusterIP                string            `json:"clusterIP"`
		PublishNotReadyAddresses bool              `json:"publishNotReadyAddresses"`
		Selector                 map[string]string `json:"selector"`
		Ports                    []struct {
			Name       string      `json:"name"`
			Protocol   string      `json:"protocol"`
			Port       int         `json:"port"`
			TargetPort intOrString `json:"targetPort"`
		} `json:"ports"`
	} `json:"spec"`
}

type secret struct {
	typeMeta
	Metadata   objectMeta        `json:"metadata"`
	Type       string            `json:"type"`
	Data       map[string]string `json:"data"` // base64
	StringData map[string]string `json:"stringData"`
}

// value returns the content of key: stringData wins over data, as in the
// API server.
func (s *secret) value(key string) (string, bool, error) {
	if v, ok := s.StringData[key]; ok {
		return v, true, nil
	}
	if v, ok := s.Data[key]; ok {
		b, err := base64.StdEncoding.DecodeString(v)
		return string(b), true, err
	}
	return "", false, nil
}

type statefulSet struct {
	typeMeta
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		ServiceName         string `json:"serviceName"`
		Replicas            *int   `json:"replicas"`
		PodManagementPolicy string `json:"podManagementPolicy"`
		Selector            struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Template struct {
			Metadata objectMeta `json:"metadata"`
			Spec     podSpec    `json:"spec"`
		} `json:"template"`
		VolumeClaimTemplates []struct {
			Metadata objectMeta `json:"metadata"`
			Spec     struct {
				AccessModes      []string `json:"accessModes"`
				StorageClassName *string  `json:"storageClassName"`
				Resources        struct {
					Requests map[string]string `json:"requests"`
				} `json:"resources"`
			} `json:"spec"`
		} `json:"volumeClaimTemplates"`
	} `json:"spec"`
}

type podSpec struct {
	TerminationGracePeriodSeconds *int  `json:"terminationGracePeriodSeconds"`
	AutomountServiceAccountToken  *bool `json:"automountServiceAccountToken"`
	EnableServiceLinks            *bool `json:"enableServiceLinks"`
	SecurityContext               struct {
		RunAsNonRoot        *bool           `json:"runAsNonRoot"`
		RunAsUser           *int64          `json:"runAsUser"`
		RunAsGroup          *int64          `json:"runAsGroup"`
		FSGroup             *int64          `json:"fsGroup"`
		FSGroupChangePolicy string          `json:"fsGroupChangePolicy"`
		SeccompProfile      *seccompProfile `json:"seccompProfile"`
	} `json:"securityContext"`
	Containers []container `json:"containers"`
	Volumes    []volume    `json:"volumes"`
}

type seccompProfile struct {
	Type string `json:"type"`
}

type container struct {
	Name            string   `json:"name"`
	Image           string   `json:"image"`
	ImagePullPolicy string   `json:"imagePullPolicy"`
	Command         []string `json:"command"`
	Args            []string `json:"args"`
	Env             []struct {
		Name      string `json:"name"`
		Value     string `json:"value"`
		ValueFrom *struct {
			FieldRef *struct {
				FieldPath string `json:"fieldPath"`
			} `json:"fieldRef"`
		} `json:"valueFrom"`
	} `json:"env"`
	Ports []struct {
		Name          string `json:"name"`
		ContainerPort int    `json:"containerPort"`
		Protocol      string `json:"protocol"`
	} `json:"ports"`
	ReadinessProbe *probe `json:"readinessProbe"`
	LivenessProbe  *probe `json:"livenessProbe"`
	StartupProbe   *probe `json:"startupProbe"`
	Resources      struct {
		Requests map[string]string `json:"requests"`
		Limits   map[string]string `json:"limits"`
	} `json:"resources"`
	SecurityContext *struct {
		AllowPrivilegeEscalation *bool           `json:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool           `json:"readOnlyRootFilesystem"`
		RunAsNonRoot             *bool           `json:"runAsNonRoot"`
		RunAsUser                *int64          `json:"runAsUser"`
		Privileged               *bool           `json:"privileged"`
		SeccompProfile           *seccompProfile `json:"seccompProfile"`
		Capabilities             *struct {
			Add  []string `json:"add"`
			Drop []string `json:"drop"`
		} `json:"capabilities"`
	} `json:"securityContext"`
	VolumeMounts []volumeMount `json:"volumeMounts"`
}

type volumeMount struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath"`
	ReadOnly  bool   `json:"readOnly"`
	SubPath   string `json:"subPath"`
}

type probe struct {
	HTTPGet *struct {
		Path   string      `json:"path"`
		Port   intOrString `json:"port"`
		Scheme string      `json:"scheme"`
	} `json:"httpGet"`
	InitialDelaySeconds int `json:"initialDelaySeconds"`
	PeriodSeconds       int `json:"periodSeconds"`
	TimeoutSeconds      int `json:"timeoutSeconds"`
	FailureThreshold    int `json:"failureThreshold"`
	SuccessThreshold    int `json:"successThreshold"`
}

// failureWindow is how long the probe fails before the kubelet acts, with
// the API's defaults (period 10 s, failureThreshold 3) for zero fields.
func (p *probe) failureWindow() time.Duration {
	period, threshold := p.PeriodSeconds, p.FailureThreshold
	if period == 0 {
		period = 10
	}
	if threshold == 0 {
		threshold = 3
	}
	return time.Duration(period*threshold) * time.Second
}

type volume struct {
	Name   string `json:"name"`
	Secret *struct {
		SecretName  string `json:"secretName"`
		DefaultMode *int   `json:"defaultMode"`
		Items       []struct {
			Key  string `json:"key"`
			Path string `json:"path"`
			Mode *int   `json:"mode"`
		} `json:"items"`
	} `json:"secret"`
	EmptyDir *struct {
		Medium    string `json:"medium"`
		SizeLimit string `json:"sizeLimit"`
	} `json:"emptyDir"`
}

// intOrString is the API's IntOrString: a port number or a port name.
type intOrString struct {
	Int   int
	Str   string
	IsStr bool
}

func (v *intOrString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		v.IsStr = true
		return json.Unmarshal(b, &v.Str)
	}
	return json.Unmarshal(b, &v.Int)
}

func (v intOrString) String() string {
	if v.IsStr {
		return strconv.Quote(v.Str)
	}
	return strconv.Itoa(v.Int)
}

// manifests are the decoded files of manifestsDir, one of each kind.
type manifests struct {
	svc    *service
	sts    *statefulSet
	secret *secret
}

// loadManifests decodes every JSON file of manifestsDir by its kind,
// rejecting unknown fields, and requires exactly one Service, one
// StatefulSet and one Secret.
func loadManifests(t *testing.T) manifests {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(manifestsDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s (%v)", manifestsDir, err)
	}
	var m manifests
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var tm typeMeta
		if err := json.Unmarshal(b, &tm); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var dst any
		switch want := tm.APIVersion + " " + tm.Kind; want {
		case "v1 Service":
			if m.svc != nil {
				t.Fatalf("%s: a second Service", f)
			}
			m.svc = new(service)
			dst = m.svc
		case "apps/v1 StatefulSet":
			if m.sts != nil {
				t.Fatalf("%s: a second StatefulSet", f)
			}
			m.sts = new(statefulSet)
			dst = m.sts
		case "v1 Secret":
			if m.secret != nil {
				t.Fatalf("%s: a second Secret", f)
			}
			m.secret = new(secret)
			dst = m.secret
		default:
			t.Fatalf("%s: apiVersion and kind %q: the test knows v1 Service, apps/v1 StatefulSet and v1 Secret", f, want)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(dst); err != nil {
			t.Fatalf("%s: %v (a misspelt field, or one the local structs of this test lack)", f, err)
		}
		if dec.More() {
			t.Fatalf("%s: data after the JSON object", f)
		}
	}
	if m.svc == nil || m.sts == nil || m.secret == nil {
		t.Fatalf("%s must hold a Service, a StatefulSet and a Secret; got Service %v, StatefulSet %v, Secret %v",
			manifestsDir, m.svc != nil, m.sts != nil, m.secret != nil)
	}
	return m
}

// container returns the StatefulSet's one container.
func (m manifests) container(t *testing.T) *container {
	t.Helper()
	cs := m.sts.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("StatefulSet has %d containers, want 1", len(cs))
	}
	return &cs[0]
}

// port returns the container port named name, or the one numbered
// p.Int.
func (c *container) port(p intOrString) (number int, protocol string, ok bool) {
	for _, cp := range c.Ports {
		if (p.IsStr && cp.Name == p.Str) || (!p.IsStr && cp.ContainerPort == p.Int) {
			proto := cp.Protocol
			if proto == "" {
				proto = "TCP"
			}
			return cp.ContainerPort, proto, true
		}
	}
	return 0, "", false
}

// portByProtocol returns the one container port of protocol proto.
func (c *container) portByProtocol(t *testing.T, proto string) (name string, number int) {
	t.Helper()
	var found []string
	for _, cp := range c.Ports {
		p := cp.Protocol
		if p == "" {
			p = "TCP"
		}
		if p == proto {
			name, number = cp.Name, cp.ContainerPort
			found = append(found, cp.Name)
		}
	}
	if len(found) != 1 {
		t.Fatalf("container has %d %s ports (%q), want 1", len(found), proto, found)
	}
	return name, number
}

// envRef matches a $(VAR) reference, which the kubelet expands in args
// from the container's env.
var envRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// envField returns the field path the environment variable name is read
// from (status.podIP, metadata.namespace, ...), "" if it is not a field
// reference; defined is false if env lacks name.
func (c *container) envField(name string) (fieldPath string, defined bool) {
	for _, e := range c.Env {
		if e.Name != name {
			continue
		}
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			return e.ValueFrom.FieldRef.FieldPath, true
		}
		return "", true
	}
	return "", false
}

// mountOf returns the volume mount holding file (the innermost, if they
// nest) and the file's path relative to it; nil if no mount holds file.
func (c *container) mountOf(file string) (vm *volumeMount, rel string) {
	best := ""
	for i := range c.VolumeMounts {
		dir := strings.TrimSuffix(c.VolumeMounts[i].MountPath, "/") + "/"
		if strings.HasPrefix(file, dir) && len(dir) > len(best) {
			best, vm, rel = dir, &c.VolumeMounts[i], strings.TrimPrefix(file, dir)
		}
	}
	return vm, rel
}

// volume returns the pod's volume called name, or nil.
func (m manifests) volume(name string) *volume {
	for i := range m.sts.Spec.Template.Spec.Volumes {
		if v := &m.sts.Spec.Template.Spec.Volumes[i]; v.Name == name {
			return v
		}
	}
	return nil
}

// keySource says where the key file comes from: its volume, which must
// be a volume of the example Secret, and the Secret key projected there.
type keySource struct {
	volume, key string
	mode        *int // file mode: the item's, else the volume's default
	readOnly    bool // the mount is read-only
}

func (m manifests) keySource(c *container, keyFile string) (keySource, error) {
	vm, rel := c.mountOf(keyFile)
	if vm == nil {
		return keySource{}, errors.New("in no volume mount")
	}
	if vm.SubPath != "" {
		return keySource{}, fmt.Errorf("volume %q is mounted with a subPath, which the kubelet never updates: SIGHUP would re-read the old keys", vm.Name)
	}
	name := vm.Name
	v := m.volume(name)
	if v == nil || v.Secret == nil {
		return keySource{}, fmt.Errorf("volume %q is not a Secret volume", name)
	}
	if v.Secret.SecretName != m.secret.Metadata.Name {
		return keySource{}, fmt.Errorf("volume %q mounts Secret %q, want %q (secret.example.json)", name, v.Secret.SecretName, m.secret.Metadata.Name)
	}
	ks := keySource{volume: name, key: rel, mode: v.Secret.DefaultMode, readOnly: vm.ReadOnly}
	if len(v.Secret.Items) == 0 {
		return ks, nil
	}
	for _, it := range v.Secret.Items {
		if it.Path == rel {
			ks.key = it.Key
			if it.Mode != nil {
				ks.mode = it.Mode
			}
			return ks, nil
		}
	}
	return keySource{}, fmt.Errorf("no item of Secret volume %q has path %q", name, rel)
}

// claimTemplate reports whether the StatefulSet has a volumeClaimTemplate
// called name.
func (m manifests) claimTemplate(name string) bool {
	for _, c := range m.sts.Spec.VolumeClaimTemplates {
		if c.Metadata.Name == name {
			return true
		}
	}
	return false
}
