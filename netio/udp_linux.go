//go:build linux

package netio

import (
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// udpSys is the Linux batching state of a UDP socket: the receive and send
// header rings, each used under its own mutex, and the probed features.
type udpSys struct {
	raw syscall.RawConn
	rx  rxBatch
	tx  txBatch

	gso       atomic.Bool // UDP_SEGMENT is in use (probed at open, cleared on failure)
	rxqOvfl   bool        // SO_RXQ_OVFL is on, so receive-buffer drops are counted
	forcedBuf bool        // the buffer sizes were set with the *FORCE options
	setupErr  error       // first error of the pre-bind socket options
}

// control sets the socket options that must precede bind (IPV6_V6ONLY,
// SO_REUSEPORT) and the buffer sizes. It runs inside ListenConfig.
func (u *UDP) control(_, _ string, c syscall.RawConn) error {
	err := c.Control(func(fd uintptr) {
		s := int(fd)
		if u.v6 {
			v6only := 1
			if u.opts.DualStack {
				v6only = 0
			}
			if err := unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only); err != nil {
				u.sys.setupErr = fmt.Errorf("setsockopt IPV6_V6ONLY: %w", err)
				return
			}
		}
		if u.opts.ReusePort {
			if err := unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
				u.sys.setupErr = fmt.Errorf("setsockopt SO_REUSEPORT: %w", err)
				return
			}
		}
		forcedR, err := setBuffer(s, unix.SO_RCVBUFFORCE, unix.SO_RCVBUF, u.opts.RecvBuffer)
		if err != nil {
			u.sys.setupErr = fmt.Errorf("setsockopt SO_RCVBUF: %w", err)
			return
		}
		forcedS, err := setBuffer(s, unix.SO_SNDBUFFORCE, unix.SO_SNDBUF, u.opts.SendBuffer)
		if err != nil {
			u.sys.setupErr = fmt.Errorf("setsockopt SO_SNDBUF: %w", err)
			return
		}
		u.sys.forcedBuf = forcedR && forcedS
		// The drop counter arrives as a control message with the datagrams
		// that follow a drop. Kernels without it just never send one.
		u.sys.rxqOvfl = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1) == nil
		if u.opts.GSO {
			// The option is readable exactly when the kernel knows it.
			_, err := unix.GetsockoptInt(s, unix.IPPROTO_UDP, unix.UDP_SEGMENT)
			u.sys.gso.Store(err == nil)
		}
	})
	if err != nil {
		return err
	}
	return u.sys.setupErr
}

// setBuffer sets a socket buffer size, first with the privileged option
// that ignores the system maximum and, when that is not permitted, with the
// ordinary one. It reports whether the privileged option worked. size < 0
// leaves the buffer alone.
func setBuffer(s, force, plain, size int) (bool, error) {
	if size < 0 {
		return false, nil
	}
	err := unix.SetsockoptInt(s, unix.SOL_SOCKET, force, size)
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, unix.EPERM) {
		return false, err
	}
	return false, unix.SetsockoptInt(s, unix.SOL_SOCKET, plain, size)
}

// init binds the batch callbacks once, so no closure is allocated per call.
func (u *UDP) init() error {
	raw, err := u.conn.SyscallConn()
	if err != nil {
		return err
	}
	u.sys.raw = raw
	u.sys.rx.fn = u.sys.rx.recv
	u.sys.rx.ctr = &u.ctr
	u.sys.tx.fn = u.sys.tx.send
	u.sys.tx.ctr = &u.ctr
	return nil
}

// BufferSizes returns the socket's receive and send buffer sizes as the
// kernel reports them (twice the requested size, see UDPOptions.RecvBuffer)
// and whether the privileged *FORCE options set them.
func (u *UDP) BufferSizes() (recv, send int, forced bool, err error) {
	cerr := u.sys.raw.Control(func(fd uintptr) {
		recv, err = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
		if err == nil {
			send, err = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF)
		}
	})
	if cerr != nil {
		return 0, 0, false, u.wrapErr("buffer sizes", cerr)
	}
	if err != nil {
		return 0, 0, false, u.wrapErr("buffer sizes", err)
	}
	return recv, send, u.sys.forcedBuf, nil
}

// GSO reports whether the socket currently sends runs to one destination
// with UDP generic segmentation offload: requested, supported by the kernel
// and not disabled by a failure.
func (u *UDP) GSO() bool { return u.sys.gso.Load() }

// ReceiveDropsCounted reports whether the kernel reports receive-buffer
// overflows (SO_RXQ_OVFL), so that Stats.DropBufferFull counts them.
func (u *UDP) ReceiveDropsCounted() bool { return u.sys.rxqOvfl }
