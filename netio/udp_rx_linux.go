//go:build linux

package netio

import (
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rxCtrlWords is the control buffer per received datagram, in 8-byte words:
// room for one SO_RXQ_OVFL message (a uint32).
var rxCtrlWords = (unix.CmsgSpace(4) + 7) / 8

// rxBatch is the receive ring of a UDP socket: recvmmsg headers, iovecs,
// source address storage and control buffers, allocated on first use, grown
// to the largest batch passed (up to BatchSize), and reused for every call.
// All fields are guarded by mu, except fn and ctr, which are set at open.
type rxBatch struct {
	mu    sync.Mutex
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	names []sockaddr
	ctrl  []uint64

	vlen     int           // headers offered to the current call
	n        int           // headers the kernel filled
	errno    syscall.Errno // error of the current call, if any
	single   bool          // recvmmsg is missing (ENOSYS): use recvmsg
	ovflLast uint32        // last SO_RXQ_OVFL value seen (a running count)

	fn  func(fd uintptr) bool // rx.recv, bound once
	ctr *counters
}

// grow makes room for n headers and links each header to its iovec, name
// and control storage, which never move afterwards.
func (r *rxBatch) grow(n int) {
	if len(r.hdrs) >= n {
		return
	}
	r.hdrs = make([]unix.Mmsghdr, n)
	r.iovs = make([]unix.Iovec, n)
	r.names = make([]sockaddr, n)
	r.ctrl = make([]uint64, n*rxCtrlWords)
	for i := range r.hdrs {
		h := &r.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		h.Iov = &r.iovs[i]
		h.SetIovlen(1)
		h.Control = (*byte)(unsafe.Pointer(&r.ctrl[i*rxCtrlWords]))
	}
}

// recv is the RawConn.Read callback: one recvmmsg over the prepared
// headers. It returns false on EAGAIN so the runtime parks the goroutine on
// the netpoller until the socket is readable.
func (r *rxBatch) recv(fd uintptr) bool {
	for {
		var n uintptr
		var e syscall.Errno
		if r.single {
			n, _, e = unix.Syscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0].Hdr)), 0)
			if e == 0 {
				r.hdrs[0].Len = uint32(n)
				n = 1
			}
		} else {
			n, _, e = unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(r.vlen), 0, 0, 0)
		}
		switch e {
		case 0:
			r.n, r.errno = int(n), 0
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		case unix.ENOSYS:
			if !r.single {
				r.single, r.vlen = true, 1
				continue
			}
		}
		r.n, r.errno = 0, e
		return true
	}
}

// ReadBatch blocks until at least one datagram has arrived or the socket is
// closed, then reads up to len(msgs) datagrams (at most BatchSize per
// system call) into the messages' buffers. Datagrams larger than
// min(len(Buf), MaxDatagram) are dropped and counted, never truncated. It
// does not allocate.
func (u *UDP) ReadBatch(msgs []Message) (int, error) {
	if u.closed.Load() {
		return 0, ErrClosed
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	r := &u.sys.rx
	r.mu.Lock()
	defer r.mu.Unlock()
	vlen := min(len(msgs), u.opts.BatchSize)
	r.grow(vlen)
	if r.single {
		vlen = 1
	}
	defer r.forget(vlen)
	for {
		for i := range vlen {
			b := msgs[i].Buf
			r.iovs[i].Base = unsafe.SliceData(b)
			r.iovs[i].SetLen(min(len(b), u.opts.MaxDatagram))
			h := &r.hdrs[i].Hdr
			h.Namelen = unix.SizeofSockaddrInet6
			h.SetControllen(rxCtrlWords * 8)
			h.Flags = 0
		}
		r.vlen = vlen
		if err := u.sys.raw.Read(r.fn); err != nil {
			return 0, u.wrapErr("read", err)
		}
		if r.errno != 0 {
			return 0, u.wrapErr("read", os.NewSyscallError("recvmmsg", r.errno))
		}
		if k := r.collect(msgs); k > 0 {
			return k, nil
		}
		// Every datagram of this call was dropped: wait for more.
	}
}

// forget clears the first n iovecs' pointers to the caller's buffers once a
// call is over, so that the ring does not keep a batch the caller has
// since let go of (a pooled batch dropped after a burst, say) alive for
// the garbage collector.
func (r *rxBatch) forget(n int) {
	for i := range n {
		r.iovs[i].Base = nil
	}
}

// collect turns the r.n filled headers into messages, dropping truncated
// datagrams, and keeps the kept ones contiguous at the front of msgs.
func (r *rxBatch) collect(msgs []Message) int {
	k, bytes, tooLarge := 0, 0, 0
	for i := range r.n {
		h := &r.hdrs[i]
		if h.Hdr.Controllen > 0 {
			r.control(i, int(h.Hdr.Controllen))
		}
		if h.Hdr.Flags&unix.MSG_TRUNC != 0 {
			tooLarge++
			continue
		}
		msgs[i].N = int(h.Len)
		msgs[i].Addr = decodeSockaddr(&r.names[i])
		if k != i {
			compact(msgs, k, i)
		}
		bytes += int(h.Len)
		k++
	}
	if r.n > 0 {
		r.ctr.batchesIn.Add(1)
	}
	if tooLarge > 0 {
		r.ctr.dropTooLargeIn.Add(uint64(tooLarge))
	}
	r.ctr.datagramsIn.Add(uint64(k))
	r.ctr.bytesIn.Add(uint64(bytes))
	return k
}

// control reads the control messages of header i. The only one requested is
// SO_RXQ_OVFL: the socket's running count of datagrams dropped because the
// receive buffer was full, of which the growth since the last one is added
// to DropBufferFull.
func (r *rxBatch) control(i, n int) {
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&r.ctrl[i*rxCtrlWords])), rxCtrlWords*8)
	n = min(n, len(buf))
	hdrLen := unix.CmsgLen(0)
	for off := 0; off+hdrLen <= n; {
		c := (*unix.Cmsghdr)(unsafe.Pointer(&buf[off]))
		l := int(c.Len)
		if l < hdrLen || off+l > n {
			return
		}
		if c.Level == unix.SOL_SOCKET && c.Type == unix.SO_RXQ_OVFL && l >= unix.CmsgLen(4) {
			v := *(*uint32)(unsafe.Pointer(&buf[off+hdrLen]))
			if d := v - r.ovflLast; d != 0 {
				r.ctr.dropBufferFull.Add(uint64(d))
			}
			r.ovflLast = v
		}
		off += unix.CmsgSpace(l - hdrLen)
	}
}
