// Package deploy holds what it takes to run hearsayd in containers: a
// Dockerfile for the image and Kubernetes manifests, in JSON, for a
// StatefulSet of five members behind a headless Service (see README.md in
// this directory). It has no Go API; this file exists for its tests.
//
// The tests read every manifest with encoding/json into local structs
// that mirror the few Kubernetes fields used (manifests_test.go), rejecting
// fields they do not know so that a misspelt field fails here rather than
// at kubectl apply, and check what the manifests must agree on: the
// Service is headless and publishes not-ready addresses; its selector picks
// the StatefulSet's pods; -seeds names the Service; -key-file lies in the
// Secret volume and names a key of the example Secret; probes hit /healthz
// on the HTTP port; ports, scrape annotations and arguments agree; the
// security context is restrictive (deploy_test.go). They parse the
// Dockerfile for the build flags, base images, user, exposed ports and
// entrypoint (dockerfile_test.go). They build cmd/hearsayd and check that
// every flag used exists in hearsayd -h, that hearsayd accepts the
// StatefulSet's arguments, and that it refuses the example Secret's
// placeholder key (hearsayd_test.go); those runs add an invalid -state, a
// deliberate usage error, so that nothing starts: hearsayd reports every
// problem at once and must report only the expected ones.
//
// They need no Docker, no cluster and no Kubernetes module.
package deploy
