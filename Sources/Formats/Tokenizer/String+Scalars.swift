extension String {
    /// The string of `scalars`, built by writing their UTF-8 directly (much faster than appending
    /// to a `UnicodeScalarView`, which matters for the millions of pieces a corpus splits into).
    init(scalars: ArraySlice<Unicode.Scalar>) {
        var byteCount = 0
        for scalar in scalars { byteCount += UTF8.width(scalar) }
        self.init(unsafeUninitializedCapacity: byteCount) { buffer in
            var index = 0
            for scalar in scalars {
                UTF8.encode(scalar) { byte in
                    buffer[index] = byte
                    index += 1
                }
            }
            return index
        }
    }
}
