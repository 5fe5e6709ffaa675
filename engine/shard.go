package engine

// shard holds the members whose ring position falls in one slice of the
// circle, sorted by (pos, id). A shard reachable from a published snapshot is
// immutable; the table copies it before the first change after a publish.
type shard struct {
	recs   []record
	digest uint64 // sum of record.hash over live records
	live   int32  // live records
}

// search returns the index of the first record at or after (pos, id).
func (s *shard) search(pos uint64, id ID) int {
	lo, hi := 0, len(s.recs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		r := &s.recs[m]
		if r.pos < pos || (r.pos == pos && r.id < id) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// after returns the index of the first record strictly after pos.
func (s *shard) after(pos uint64) int {
	lo, hi := 0, len(s.recs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.recs[m].pos <= pos {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// find returns the index of id and whether it is present.
func (s *shard) find(id ID, pos uint64) (int, bool) {
	i := s.search(pos, id)
	return i, i < len(s.recs) && s.recs[i].id == id
}

// clone returns a private copy with room for one more record.
func (s *shard) clone() *shard {
	c := &shard{digest: s.digest, live: s.live}
	c.recs = make([]record, len(s.recs), len(s.recs)+1)
	copy(c.recs, s.recs)
	return c
}

// contentHash hashes every record, tombstones included, for interning.
func (s *shard) contentHash() uint64 {
	var h uint64
	for i := range s.recs {
		h += s.recs[i].sum*31 + uint64(s.recs[i].pos)
	}
	return h
}

// sameContent reports whether two shards hold identical records.
func (s *shard) sameContent(o *shard) bool {
	if len(s.recs) != len(o.recs) || s.digest != o.digest || s.live != o.live {
		return false
	}
	for i := range s.recs {
		a, b := &s.recs[i], &o.recs[i]
		if a.sum != b.sum || a.id != b.id || a.gen != b.gen || a.inc != b.inc || a.state != b.state ||
			a.port != b.port || a.ip != b.ip || !a.app.equal(b.app) {
			return false
		}
	}
	return true
}
