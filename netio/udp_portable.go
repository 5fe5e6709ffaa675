//go:build !linux

package netio

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"syscall"
)

// udpSys is the portable state of a UDP socket on systems without
// recvmmsg/sendmmsg: one datagram per system call through the net package,
// which does not allocate for netip addresses. A datagram is read into a
// scratch buffer one byte larger than MaxDatagram and copied to the caller's
// buffer only if it fits, which detects oversize datagrams exactly on every
// platform at the cost of one copy.
type udpSys struct {
	rmu     sync.Mutex
	scratch []byte
	wmu     sync.Mutex
}

// control refuses options this platform cannot honour. Buffer sizes are set
// after bind through the net package.
func (u *UDP) control(_, _ string, _ syscall.RawConn) error {
	if u.opts.ReusePort {
		return fmt.Errorf("SO_REUSEPORT: %w", errors.ErrUnsupported)
	}
	return nil
}

// init sets the buffer sizes and allocates the scratch buffer.
func (u *UDP) init() error {
	if u.opts.RecvBuffer > 0 {
		if err := u.conn.SetReadBuffer(u.opts.RecvBuffer); err != nil {
			return err
		}
	}
	if u.opts.SendBuffer > 0 {
		if err := u.conn.SetWriteBuffer(u.opts.SendBuffer); err != nil {
			return err
		}
	}
	u.sys.scratch = make([]byte, u.opts.MaxDatagram+1)
	return nil
}

// BufferSizes is not available on this platform.
func (u *UDP) BufferSizes() (recv, send int, forced bool, err error) {
	return 0, 0, false, errors.ErrUnsupported
}

// GSO reports false: UDP segmentation offload is Linux only.
func (u *UDP) GSO() bool { return false }

// ReceiveDropsCounted reports false: only Linux reports receive-buffer
// overflows.
func (u *UDP) ReceiveDropsCounted() bool { return false }

// ReadBatch blocks until a datagram arrives or the socket is closed, then
// returns it in msgs[0]. Datagrams larger than min(len(Buf), MaxDatagram)
// are dropped and counted.
func (u *UDP) ReadBatch(msgs []Message) (int, error) {
	if u.closed.Load() {
		return 0, ErrClosed
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	u.sys.rmu.Lock()
	defer u.sys.rmu.Unlock()
	for {
		n, addr, err := u.conn.ReadFromUDPAddrPort(u.sys.scratch)
		if err != nil {
			return 0, u.wrapErr("read", err)
		}
		if n > min(len(msgs[0].Buf), u.opts.MaxDatagram) {
			u.ctr.dropTooLargeIn.Add(1)
			continue
		}
		msgs[0].N = copy(msgs[0].Buf, u.sys.scratch[:n])
		msgs[0].Addr = addr
		if a := addr.Addr(); a.Is4In6() {
			msgs[0].Addr = netip.AddrPortFrom(a.Unmap(), addr.Port())
		}
		u.ctr.batchesIn.Add(1)
		u.ctr.datagramsIn.Add(1)
		u.ctr.bytesIn.Add(uint64(n))
		return 1, nil
	}
}

// WriteBatch sends each message with its own system call. Datagrams the
// system refuses are counted and skipped.
func (u *UDP) WriteBatch(msgs []Message) (int, error) {
	if u.closed.Load() {
		return 0, ErrClosed
	}
	u.sys.wmu.Lock()
	defer u.sys.wmu.Unlock()
	for i := range msgs {
		m := &msgs[i]
		if len(m.Buf) > u.opts.MaxDatagram {
			u.ctr.dropTooLargeOut.Add(1)
			continue
		}
		dst := m.Addr
		if !u.v6 && dst.Addr().Is4In6() {
			dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
		}
		if _, err := u.conn.WriteToUDPAddrPort(m.Buf, dst); err != nil {
			if u.closed.Load() {
				return i, ErrClosed
			}
			u.ctr.dropOther.Add(1)
			continue
		}
		u.ctr.batchesOut.Add(1)
		u.ctr.datagramsOut.Add(1)
		u.ctr.bytesOut.Add(uint64(len(m.Buf)))
	}
	return len(msgs), nil
}
