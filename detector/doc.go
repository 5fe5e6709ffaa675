// Package detector holds failure detectors and suspicion math as pure values.
package detector
