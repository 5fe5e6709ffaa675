// Package fuzz holds fuzz targets over the engine's input paths.
package fuzz
