//go:build linux && (amd64 || arm64 || riscv64 || loong64 || s390x)

package st

// Definitions from <linux/mtio.h> for 64-bit Linux with the generic
// _IOC encoding (dir<<30 | size<<16 | type<<8 | nr), where C long is 64
// bits like Go int. mtio_test.go recomputes the request numbers from the
// structs' sizes.

// ioctl requests.
const (
	mtiocTop = 0x40086d01 // _IOW('m', 1, struct mtop)
	mtiocGet = 0x80306d02 // _IOR('m', 2, struct mtget)
	mtiocPos = 0x80086d03 // _IOR('m', 3, struct mtpos)
)

// MTIOCTOP operations.
const (
	mtFSF    = 1  // forward space over count filemarks
	mtBSF    = 2  // backward space over count filemarks
	mtFSR    = 3  // forward space count records
	mtBSR    = 4  // backward space count records
	mtWEOF   = 5  // write count filemarks
	mtREW    = 6  // rewind
	mtEOM    = 12 // go to end of recorded data
	mtSETBLK = 20 // set block size, 0 = variable
)

// mt_gstat bits (GMT_*).
const (
	gmtEOF    = 0x80000000 // just after a filemark
	gmtBOT    = 0x40000000 // beginning of tape
	gmtEOT    = 0x20000000 // end of tape: st sets it at early warning
	gmtEOD    = 0x08000000 // end of recorded data
	gmtWrProt = 0x04000000 // write-protected
	gmtOnline = 0x01000000 // medium loaded and ready
	gmtDrOpen = 0x00040000 // door open, no medium
)

// mtSTBlksizeMask extracts the block size from mt_dsreg.
const mtSTBlksizeMask = 0xffffff

// mtop is struct mtop: short mt_op; int mt_count.
type mtop struct {
	op    int16
	_     int16
	count int32
}

// mtget is struct mtget: five longs and two daddr_t (int).
type mtget struct {
	typ    int // mt_type
	resid  int // mt_resid
	dsreg  int // mt_dsreg: block size and density
	gstat  int // mt_gstat: GMT_* flags
	erreg  int // mt_erreg
	fileno int32
	blkno  int32
}

// mtpos is struct mtpos: long mt_blkno.
type mtpos struct {
	blkno int
}
