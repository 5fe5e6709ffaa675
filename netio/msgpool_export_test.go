package netio

import "time"

// SetPoolClock gives a pool the clock its ageing reads, for tests.
func SetPoolClock(p *MessagePool, now func() time.Time) {
	p.mu.Lock()
	p.now, p.aged = now, now()
	p.mu.Unlock()
}
