import CSyncShim
import Glibc

/// Moves a regular file's bytes from one descriptor to another, keeping holes as holes.
///
/// With a checksum, data goes through `pread`/`pwrite` in 1 MiB blocks and is hashed as it
/// passes. Without one, `FICLONE` is tried first, then `copy_file_range` (looped, because one
/// call moves at most about 2 GiB), then `pread`/`pwrite`. Holes are found with SEEK_DATA and
/// SEEK_HOLE; the size is set last with `ftruncate`, so a trailing hole keeps the file's length.
struct DataTransfer {
    let context: TaskContext
    let worker: WorkerContext

    struct Outcome {
        var bytesWritten: Int64 = 0
        var checksum: String?
    }

    func copy(from source: Int32, to destination: Int32, size: Int64, mayBeSparse: Bool, hashing: Bool) throws(Errno) -> Outcome {
        var outcome = Outcome()
        let hasher = hashing ? ContentHasher(context.options.checksum) : nil

        if !hashing && context.throttle == nil && context.cloneWorks.load(ordering: .relaxed) != 0 && size > 0 {
            do {
                try Sys.clone(into: destination, from: source)
                context.cloneWorks.store(1, ordering: .relaxed)
                outcome.bytesWritten = size
                return outcome
            } catch {
                context.cloneWorks.store(0, ordering: .relaxed)
            }
        }

        var position: Int64 = 0
        while position < size {
            var dataStart = position
            var dataEnd = size
            if mayBeSparse {
                guard let start = try Sys.seekData(source, position) else { break }
                dataStart = min(start, size)
                dataEnd = min(try Sys.seekHole(source, dataStart), size)
            }
            if dataStart > position {
                hasher?.updateZeros(count: dataStart - position)
            }
            outcome.bytesWritten += try copyRange(source, destination, from: dataStart, to: dataEnd, hasher: hasher)
            position = dataEnd
        }
        if position < size {
            hasher?.updateZeros(count: size - position)
        }
        // Sets the length even when the file ends in a hole; harmless when it is already right.
        if mayBeSparse || size == 0 || outcome.bytesWritten < size {
            try Sys.truncate(destination, size)
        }
        outcome.checksum = hasher?.finish()
        return outcome
    }

    private func copyRange(_ source: Int32, _ destination: Int32, from start: Int64, to end: Int64, hasher: ContentHasher?) throws(Errno) -> Int64 {
        var offset = start
        if hasher == nil && context.copyRangeWorks.load(ordering: .relaxed) != 0 {
            var sourceOffset = start
            var destinationOffset = start
            do {
                while sourceOffset < end {
                    try context.checkCancelled()
                    let chunk = Int(min(end - sourceOffset, 64 << 20))
                    context.throttle?.consume(chunk)
                    let moved = try Sys.copyFileRange(from: source, &sourceOffset, to: destination, &destinationOffset, count: chunk)
                    if moved == 0 { break }
                }
                context.copyRangeWorks.store(1, ordering: .relaxed)
                return sourceOffset - start
            } catch where [EXDEV, EINVAL, ENOSYS, EOPNOTSUPP, EBADF].contains(error.code) {
                // Not supported between these filesystems: go on with plain reads and writes.
                context.copyRangeWorks.store(0, ordering: .relaxed)
                offset = sourceOffset
            }
        }

        while offset < end {
            try context.checkCancelled()
            let wanted = Int(min(Int64(worker.bufferSize), end - offset))
            context.throttle?.consume(wanted)
            let count = try Sys.pread(source, worker.buffer, wanted, offset)
            if count == 0 { break }  // The file shrank; the change check after the copy reports it.
            hasher?.update(worker.buffer, count: count)
            var written = 0
            while written < count {
                written += try Sys.pwrite(destination, worker.buffer + written, count - written, offset + Int64(written))
            }
            offset += Int64(count)
        }
        return offset - start
    }

    /// Computes the checksum of a source file, read through the page cache.
    func checksum(of fd: Int32, size: Int64) throws(Errno) -> String {
        let hasher = ContentHasher(context.options.checksum)
        var offset: Int64 = 0
        while offset < size {
            let count = try Sys.pread(fd, worker.buffer, worker.bufferSize, offset)
            if count == 0 { break }
            let useful = Int(min(Int64(count), size - offset))
            hasher.update(worker.buffer, count: useful)
            offset += Int64(useful)
        }
        if offset < size {
            hasher.updateZeros(count: size - offset)
        }
        return hasher.finish()
    }

    /// Computes the checksum of a destination file as stored, not as cached: read with O_DIRECT where the
    /// filesystem allows it, otherwise after flushing and dropping the file's cached pages.
    ///
    /// The file is opened again by `name` in `directory` (not through /proc, whose lookups
    /// serialise the threads of a process), or through /proc when no name is given.
    /// A file that is not sparse is read straight through, without the two lseek calls per extent.
    func checksumFromStorage(of fd: Int32, directory: Int32 = -1, name: EntryName? = nil, size: Int64,
                             mayBeSparse: Bool = true, flush: Bool = true) throws(Errno) -> String {
        let hasher = ContentHasher(context.options.checksum)
        func open(_ flags: Int32) throws(Errno) -> Int32 {
            if let name {
                return try Sys.openRead(directory, name.cString, extraFlags: flags)
            }
            return try Sys.reopen(fd, flags: O_RDONLY | flags)
        }
        // `fd` must be open for reading. Without O_DIRECT it is read itself once its pages are
        // flushed and dropped, which saves an open and a close per file.
        var reader: Int32 = -1
        if context.directReadWorks.load(ordering: .relaxed) != 0 {
            reader = (try? open(syncd_o_direct_flag)) ?? -1
            context.directReadWorks.store(reader >= 0 ? 1 : 0, ordering: .relaxed)
        }
        var direct = reader >= 0
        if !direct {
            if flush { try Sys.flush(fd) }
            Sys.dropCache(fd)
            reader = fd
        }
        defer { if reader != fd { Sys.close(reader) } }

        var position: Int64 = 0
        while position < size {
            var dataStart = position
            var dataEnd = size
            if mayBeSparse {
                guard let found = try Sys.seekData(reader, position) else { break }
                // O_DIRECT needs block-aligned offsets; data extents start on block boundaries anyway.
                dataStart = min(found & ~4095, size)
                dataEnd = min(try Sys.seekHole(reader, found), size)
            }
            if dataStart > position {
                hasher.updateZeros(count: dataStart - position)
            }
            var offset = max(dataStart, position)
            while offset < dataEnd {
                try context.checkCancelled()
                let count: Int
                do {
                    count = try Sys.pread(reader, worker.buffer, worker.bufferSize, offset)
                } catch where direct && error.code == EINVAL {
                    // This filesystem refuses an O_DIRECT read after all: fall back for good.
                    context.directReadWorks.store(0, ordering: .relaxed)
                    Sys.close(reader)
                    if flush { try Sys.flush(fd) }
                    Sys.dropCache(fd)
                    reader = fd
                    direct = false
                    continue
                }
                if count == 0 { break }
                let useful = Int(min(Int64(count), dataEnd - offset))
                hasher.update(worker.buffer, count: useful)
                offset += Int64(useful)
            }
            position = max(offset, dataEnd)
        }
        if position < size {
            hasher.updateZeros(count: size - position)
        }
        return hasher.finish()
    }
}

let syncd_o_direct_flag = syncd_o_direct()
