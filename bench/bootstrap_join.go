package bench

// addRefusals reports, summed over the running nodes, the shard requests
// refused because the server was busy and how the refusals were answered.
func addRefusals(r *Result, c Cluster) {
	var busy, waits, followed, refused uint64
	for i := 0; i < c.Len(); i++ {
		if !c.Running(i) {
			continue
		}
		s := c.Stats(i)
		busy += s.DropBusy
		waits += s.BusySent
		followed += s.RetriesFollowed
		refused += s.RefusedReplies
	}
	r.add("shard requests refused busy (all nodes)", float64(busy), "count")
	r.add("busy answers sent: retry after a wait (all nodes)", float64(waits), "count")
	r.add("retries followed (all nodes)", float64(followed), "count")
	r.add("answers withheld by reply budgets (all nodes)", float64(refused), "count")
}

// addJoinFigures reports what each joiner's Join call cost: its duration,
// the shard requests it sent and the shard data it received, and the bytes
// it received against the floor, the compressed size of the table it held
// when the call returned. The floor is that table's member count times the
// compressed bytes per member of the fullest table held at the end (every
// member record has the same wire size and shape, so the cost per member
// of one large table applies to each); nodes below seeds are the seeds,
// which join each other before the others start, and are left out.
func addJoinFigures(r *Result, jr JoinReporter, seeds int) {
	var perMember float64
	best := 0
	for i := seeds; i < seeds+8; i++ {
		if ms := jr.TableMembers(i); len(ms) > best {
			best = len(ms)
			perMember = float64(CompressedTable(ms)) / float64(len(ms))
		}
	}
	var took, reqs, data, bytesIn, floor, ratio Histogram
	failed, n := 0, 0
	for _, f := range jr.JoinFigures() {
		if f.Node < seeds {
			continue
		}
		n++
		if !f.OK {
			failed++
			continue
		}
		took.AddDuration(f.Took)
		reqs.Add(float64(f.ShardRequests))
		data.Add(float64(f.ShardData))
		bytesIn.Add(float64(f.BytesIn))
		fl := perMember * float64(f.Members)
		floor.Add(fl)
		if fl > 0 {
			ratio.Add(float64(f.BytesIn) / fl)
		}
	}
	if n == 0 {
		return
	}
	r.add("joins measured", float64(n), "count")
	r.add("joins that did not finish", float64(failed), "count", Goal("==", 0, "design target"))
	r.addDist("join call", &took, "s", nil, nil)
	r.addDist("shard-request datagrams sent per join", &reqs, "count", nil, nil)
	r.addDist("shard-data datagrams received per join", &data, "count", nil, nil)
	r.addDist("bytes received per join", &bytesIn, "B", nil, nil)
	r.add("floor: compressed table held at the join p50", floor.P50(), "B")
	r.add("floor: compressed bytes per member", perMember, "B")
	goal := []FigureOption{Goal("<", 1.5, "issue 19")}
	r.addDist("bytes received per join / floor", &ratio, "ratio", goal, goal)
}
