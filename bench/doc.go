// Package bench holds cluster scenarios and their measurements.
package bench
