// Package blockdev backs up and restores disk images: block devices, image
// files, and (through SaveImage) any source that can be read at an offset,
// such as a VMware disk read over HTTP.
//
// A disk is chunked as one stream with the repository's content-defined
// chunker, so its chunks deduplicate with every other source. Chunks that
// hold only zeros are recorded as holes (tree.Chunk with a null id): they
// cost no blob and restore sparsely, and because they keep their chunker
// sizes the chunk list stays an exact chunking of the image, which the
// incremental path needs.
//
// An incremental backup is given the regions that changed since the parent
// (a changed-extent list, or VMware Changed Block Tracking) and re-syncs
// with chunker.Resync: unchanged regions reuse the parent's chunk ids
// without being read. See docs/source-blockdev.md.
package blockdev
