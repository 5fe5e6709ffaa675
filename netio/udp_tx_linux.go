//go:build linux

package netio

import (
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// GSO bounds: the kernel accepts at most 64 segments per super-datagram
// (UDP_MAX_SEGMENTS on older kernels) and the super-datagram must fit the
// 16-bit IP length with room for IPv6 and UDP headers.
const (
	gsoMaxSegments = 64
	gsoMaxBytes    = 65000
)

// txCtrlWords is the control buffer per send header, in 8-byte words: room
// for one UDP_SEGMENT message (a uint16).
var txCtrlWords = (unix.CmsgSpace(2) + 7) / 8

// txBatch is the send ring of a UDP socket: sendmmsg headers (one per plain
// datagram or per GSO run), one iovec per datagram, destination address
// storage and control buffers, allocated on first use and grown to the
// largest batch passed (up to BatchSize). All fields are guarded by mu,
// except fn and ctr, which are set at open.
type txBatch struct {
	mu    sync.Mutex
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec // indexed like the messages of the chunk
	names []sockaddr
	ctrl  []uint64
	first []int32 // header → index of its first message in the chunk
	segs  []int32 // header → datagrams it carries (>1 for GSO)
	size  []int32 // header → bytes it carries

	off, nhdr int           // next header to send, headers prepared
	errno     syscall.Errno // error at header off, if any
	single    bool          // sendmmsg is missing (ENOSYS): use sendmsg

	fn  func(fd uintptr) bool // tx.send, bound once
	ctr *counters
}

// grow makes room for n datagrams and headers.
func (t *txBatch) grow(n int) {
	if len(t.hdrs) >= n {
		return
	}
	t.hdrs = make([]unix.Mmsghdr, n)
	t.iovs = make([]unix.Iovec, n)
	t.names = make([]sockaddr, n)
	t.ctrl = make([]uint64, n*txCtrlWords)
	t.first = make([]int32, n)
	t.segs = make([]int32, n)
	t.size = make([]int32, n)
	for i := range t.hdrs {
		t.hdrs[i].Hdr.Name = (*byte)(unsafe.Pointer(&t.names[i]))
	}
}

// send is the RawConn.Write callback: sendmmsg over the prepared headers
// from t.off until all are sent or one fails. It returns false on EAGAIN so
// the runtime parks the goroutine until the socket is writable.
func (t *txBatch) send(fd uintptr) bool {
	for t.off < t.nhdr {
		var n uintptr
		var e syscall.Errno
		if t.single {
			_, _, e = unix.Syscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&t.hdrs[t.off].Hdr)), 0)
			n = 1
		} else {
			n, _, e = unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&t.hdrs[t.off])), uintptr(t.nhdr-t.off), 0, 0, 0)
		}
		switch e {
		case 0:
			t.sent(t.off, int(n))
			t.off += int(n)
			continue
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		case unix.ENOSYS:
			if !t.single {
				t.single = true
				continue
			}
		}
		t.errno = e
		return true
	}
	t.errno = 0
	return true
}

// forget clears the first n iovecs' pointers to the caller's buffers once
// they are sent, so that the ring does not keep memory the caller has
// since let go of alive for the garbage collector.
func (t *txBatch) forget(n int) {
	for i := range n {
		t.iovs[i].Base = nil
	}
}

// sent counts n headers sent from header h.
func (t *txBatch) sent(h, n int) {
	var dgrams, bytes, gso int
	for i := h; i < h+n; i++ {
		s := int(t.segs[i])
		dgrams += s
		bytes += int(t.size[i])
		if s > 1 {
			gso += s
		}
	}
	t.ctr.batchesOut.Add(1)
	t.ctr.datagramsOut.Add(uint64(dgrams))
	t.ctr.bytesOut.Add(uint64(bytes))
	if gso > 0 {
		t.ctr.sendGSO.Add(uint64(gso))
	}
}

// WriteBatch sends each msgs[i].Buf to msgs[i].Addr, BatchSize datagrams
// per sendmmsg, blocking while the socket's send buffer is full. With GSO,
// runs to one destination go as one super-datagram. Datagrams the kernel
// refuses are counted in Stats and skipped. It returns len(msgs), or the
// number processed and ErrClosed if the socket is closed. It does not
// allocate, except when resolving a named IPv6 zone.
func (u *UDP) WriteBatch(msgs []Message) (int, error) {
	if u.closed.Load() {
		return 0, ErrClosed
	}
	t := &u.sys.tx
	t.mu.Lock()
	defer t.mu.Unlock()
	for done := 0; done < len(msgs); {
		chunk := msgs[done:min(len(msgs), done+u.opts.BatchSize)]
		t.grow(len(chunk))
		t.off = 0
		t.nhdr = u.prepare(chunk, 0, 0, u.sys.gso.Load())
		for t.off < t.nhdr {
			if err := u.sys.raw.Write(t.fn); err != nil {
				t.forget(len(chunk))
				return done + int(t.first[t.off]), u.wrapErr("write", err)
			}
			if t.errno != 0 {
				u.failed(chunk)
			}
		}
		t.forget(len(chunk))
		done += len(chunk)
	}
	return len(msgs), nil
}

// failed handles the error t.errno at header t.off. A failed GSO run is
// prepared again as plain datagrams (and GSO is turned off if the error says
// the path cannot segment); a failed plain datagram is counted and skipped.
func (u *UDP) failed(chunk []Message) {
	t := &u.sys.tx
	h := t.off
	if t.segs[h] > 1 {
		u.ctr.gsoFallbacks.Add(1)
		switch t.errno {
		case unix.EIO, unix.EINVAL, unix.EOPNOTSUPP, unix.ENOPROTOOPT:
			u.sys.gso.Store(false)
		}
		t.nhdr = u.prepare(chunk, int(t.first[h]), h, false)
		return
	}
	if t.errno == unix.EMSGSIZE {
		u.ctr.dropTooLargeOut.Add(1)
	} else {
		u.ctr.dropOther.Add(1)
	}
	t.off++
}

// prepare fills headers from header h on with the messages of chunk from
// index i on and returns the number of headers in use. Messages that cannot
// be sent (too large, unusable address) are counted and left out.
func (u *UDP) prepare(chunk []Message, i, h int, gso bool) int {
	t := &u.sys.tx
	for i < len(chunk) {
		m := &chunk[i]
		size := len(m.Buf)
		if size > u.opts.MaxDatagram {
			u.ctr.dropTooLargeOut.Add(1)
			i++
			continue
		}
		namelen := encodeSockaddr(&t.names[h], m.Addr, u.v6)
		if namelen == 0 {
			u.ctr.dropOther.Add(1)
			i++
			continue
		}
		segs, total := 1, size
		if gso && size > 0 {
			segs, total = gsoRun(chunk[i:], size)
		}
		for k := i; k < i+segs; k++ {
			t.iovs[k].Base = unsafe.SliceData(chunk[k].Buf)
			t.iovs[k].SetLen(len(chunk[k].Buf))
		}
		hd := &t.hdrs[h].Hdr
		hd.Namelen = namelen
		hd.Iov = &t.iovs[i]
		hd.SetIovlen(segs)
		hd.Flags = 0
		if segs > 1 {
			c := unsafe.Slice((*byte)(unsafe.Pointer(&t.ctrl[h*txCtrlWords])), txCtrlWords*8)
			cm := (*unix.Cmsghdr)(unsafe.Pointer(&c[0]))
			cm.Level = unix.IPPROTO_UDP
			cm.Type = unix.UDP_SEGMENT
			cm.SetLen(unix.CmsgLen(2))
			*(*uint16)(unsafe.Pointer(&c[unix.CmsgLen(0)])) = uint16(size)
			hd.Control = &c[0]
			hd.SetControllen(unix.CmsgSpace(2))
		} else {
			hd.Control = nil
			hd.SetControllen(0)
		}
		t.first[h], t.segs[h], t.size[h] = int32(i), int32(segs), int32(total)
		h++
		i += segs
	}
	return h
}

// gsoRun returns how many leading messages of ms form one GSO run with
// segment size size, and their total bytes: same destination, each of the
// given size except possibly a shorter last one, within the kernel's bounds.
func gsoRun(ms []Message, size int) (segs, total int) {
	segs, total = 1, size
	for segs < len(ms) && segs < gsoMaxSegments {
		m := &ms[segs]
		l := len(m.Buf)
		if l == 0 || l > size || m.Addr != ms[0].Addr || total+l > gsoMaxBytes {
			break
		}
		segs++
		total += l
		if l < size {
			break
		}
	}
	return segs, total
}
