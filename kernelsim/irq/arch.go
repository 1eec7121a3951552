package irq

// Arch is one of x86's architectural interrupt counters, the rows
// /proc/interrupts prints after the numbered IRQs
// (arch/x86/kernel/irq.c arch_show_interrupts).
type Arch int

const (
	NMI Arch = iota
	LOC
	SPU
	PMI
	IWI
	RTR
	RES
	CAL
	TLB
	TRM
	THR
	DFR
	MCE
	MCP
	PIN
	NPI
	PIW
	NrArch
)

// ArchRow is how an architectural counter is printed.
type ArchRow struct {
	Counter Arch
	Label   string
	Desc    string
	// Global counters (ERR, MIS) print one number, not one per CPU.
	Global bool
}

// ArchRows are the rows in the order a Debian kernel on bare-metal Intel
// prints them: MCE rows with CONFIG_X86_MCE, PIN/NPI/PIW with KVM, and
// the global ERR and MIS between them; no HYP rows off a hypervisor.
var ArchRows = []ArchRow{
	{NMI, "NMI", "Non-maskable interrupts", false},
	{LOC, "LOC", "Local timer interrupts", false},
	{SPU, "SPU", "Spurious interrupts", false},
	{PMI, "PMI", "Performance monitoring interrupts", false},
	{IWI, "IWI", "IRQ work interrupts", false},
	{RTR, "RTR", "APIC ICR read retries", false},
	{RES, "RES", "Rescheduling interrupts", false},
	{CAL, "CAL", "Function call interrupts", false},
	{TLB, "TLB", "TLB shootdowns", false},
	{TRM, "TRM", "Thermal event interrupts", false},
	{THR, "THR", "Threshold APIC interrupts", false},
	{DFR, "DFR", "Deferred Error APIC interrupts", false},
	{MCE, "MCE", "Machine check exceptions", false},
	{MCP, "MCP", "Machine check polls", false},
	{-1, "ERR", "", true},
	{-2, "MIS", "", true},
	{PIN, "PIN", "Posted-interrupt notification event", false},
	{NPI, "NPI", "Nested posted-interrupt event", false},
	{PIW, "PIW", "Posted-interrupt wakeup event", false},
}

// IPI is an inter-processor interrupt the scheduler sends.
type IPI int

const (
	// Reschedule asks a CPU to preempt what it runs (RES).
	Reschedule IPI = iota
	// FunctionCall runs a function on a CPU, as a remote wakeup queued on
	// its wake list does (CAL).
	FunctionCall
	// TLBShootdown flushes a CPU's TLB for a changed mapping (TLB).
	TLBShootdown
)

// ArchCount is an architectural counter of one CPU.
func (s *Interrupts) ArchCount(a Arch, c int) uint64 { return s.arch[c][a] }

// ErrCount is irq_err_count (ERR); MIS counts mis-routed IO-APIC
// interrupts, which a simulated chip never has.
func (s *Interrupts) ErrCount() uint64 { return 0 }

// SendIPI counts an inter-processor interrupt to cpu and the handler's time.
func (s *Interrupts) SendIPI(c int, kind IPI) {
	if c < 0 || c >= len(s.arch) || !s.cpus.Online(c) {
		return
	}
	counter := [...]Arch{Reschedule: RES, FunctionCall: CAL, TLBShootdown: TLB}[kind]
	s.arch[c][counter]++
	s.charge(c, ipiNs, 0)
}

// IRQWork counts a self-interrupt that runs deferred irq_work on cpu,
// such as printk's wakeup of the log's readers (IWI).
func (s *Interrupts) IRQWork(c int) {
	if c < 0 || c >= len(s.arch) || !s.cpus.Online(c) {
		return
	}
	s.arch[c][IWI]++
	s.charge(c, ipiNs, 0)
}

// archTick counts the per-tick architectural interrupts of an online CPU:
// the local timer; the perf NMI watchdog, whose cycle counter overflows
// about every watchdog_thresh (10 s) and shows as both NMI and PMI; and
// the machine-check poll every check_interval (5 min, arch/x86/kernel/cpu/mce/core.c).
func (s *Interrupts) archTick(c int, tick uint64) {
	a := &s.arch[c]
	a[LOC]++
	s.pending[c].hard += timerIRQNs
	hz := uint64(s.hz)
	// Stagger the CPUs so that their slow counters do not all step at once.
	phase := tick + uint64(c)*7
	if phase%(10*hz) == 0 {
		a[NMI]++
		a[PMI]++
	}
	if phase%(300*hz) == 0 {
		a[MCP]++
	}
}
