//go:build linux && (amd64 || arm64 || riscv64 || loong64 || s390x)

package st

import (
	"testing"
	"unsafe"
)

// The Linux _IOC encoding (asm-generic/ioctl.h).
const (
	iocWrite = 1
	iocRead  = 2
)

func ioc(dir, typ, nr, size uintptr) uintptr {
	return dir<<30 | size<<16 | typ<<8 | nr
}

func TestIoctlRequestEncoding(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  uintptr
		want uintptr
	}{
		{"MTIOCTOP = _IOW('m', 1, struct mtop)", mtiocTop, ioc(iocWrite, 'm', 1, unsafe.Sizeof(mtop{}))},
		{"MTIOCGET = _IOR('m', 2, struct mtget)", mtiocGet, ioc(iocRead, 'm', 2, unsafe.Sizeof(mtget{}))},
		{"MTIOCPOS = _IOR('m', 3, struct mtpos)", mtiocPos, ioc(iocRead, 'm', 3, unsafe.Sizeof(mtpos{}))},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: constant %#x, formula gives %#x", tc.name, tc.got, tc.want)
		}
	}
}

func TestStructLayout(t *testing.T) {
	var op mtop
	var g mtget
	var p mtpos
	for _, tc := range []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof(struct mtop)", unsafe.Sizeof(op), 8},
		{"offsetof(mtop, mt_op)", unsafe.Offsetof(op.op), 0},
		{"offsetof(mtop, mt_count)", unsafe.Offsetof(op.count), 4},
		{"sizeof(struct mtget)", unsafe.Sizeof(g), 48},
		{"offsetof(mtget, mt_type)", unsafe.Offsetof(g.typ), 0},
		{"offsetof(mtget, mt_resid)", unsafe.Offsetof(g.resid), 8},
		{"offsetof(mtget, mt_dsreg)", unsafe.Offsetof(g.dsreg), 16},
		{"offsetof(mtget, mt_gstat)", unsafe.Offsetof(g.gstat), 24},
		{"offsetof(mtget, mt_erreg)", unsafe.Offsetof(g.erreg), 32},
		{"offsetof(mtget, mt_fileno)", unsafe.Offsetof(g.fileno), 40},
		{"offsetof(mtget, mt_blkno)", unsafe.Offsetof(g.blkno), 44},
		{"sizeof(struct mtpos)", unsafe.Sizeof(p), 8},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
}

func TestConstantsMatchMtioH(t *testing.T) {
	// Values from linux/mtio.h, spelled out independently of mtio.go.
	for _, tc := range []struct {
		name      string
		got, want int
	}{
		{"MTFSF", mtFSF, 1}, {"MTBSF", mtBSF, 2}, {"MTFSR", mtFSR, 3}, {"MTBSR", mtBSR, 4},
		{"MTWEOF", mtWEOF, 5}, {"MTREW", mtREW, 6}, {"MTEOM", mtEOM, 12}, {"MTSETBLK", mtSETBLK, 20},
		{"GMT_EOF", gmtEOF, 1 << 31}, {"GMT_BOT", gmtBOT, 1 << 30}, {"GMT_EOT", gmtEOT, 1 << 29},
		{"GMT_EOD", gmtEOD, 1 << 27}, {"GMT_WR_PROT", gmtWrProt, 1 << 26}, {"GMT_ONLINE", gmtOnline, 1 << 24},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %#x, want %#x", tc.name, tc.got, tc.want)
		}
	}
}

func TestIsRewindingTape(t *testing.T) {
	for _, tc := range []struct {
		major, minor uint32
		want         bool
	}{
		{9, 0, true},    // /dev/st0
		{9, 128, false}, // /dev/nst0
		{9, 1, true},    // /dev/st1
		{9, 129, false}, // /dev/nst1
		{9, 32, true},   // /dev/st0l (mode 1)
		{9, 160, false}, // /dev/nst0l
		{8, 0, false},   // /dev/sda: not a tape
		{1, 3, false},   // /dev/null
	} {
		if got := isRewindingTape(tc.major, tc.minor); got != tc.want {
			t.Errorf("isRewindingTape(%d, %d) = %v, want %v", tc.major, tc.minor, got, tc.want)
		}
	}
}
