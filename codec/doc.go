// Package codec defines Hearsay's wire format.
package codec
