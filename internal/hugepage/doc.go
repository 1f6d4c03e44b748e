// Package hugepage asks the kernel for transparent huge pages under large
// arrays that are read at random (hash indexes, memtable entry pages,
// per-partition operator state): with 4 KiB pages nearly every access to
// a structure of many megabytes also misses the TLB, and a page walk under
// virtualization costs about as much as the memory access itself.
package hugepage
