/// A small baseline JPEG encoder (ITU-T T.81): JFIF APP0, SOF0, 8-bit, three YCbCr components
/// with 4:2:0 chroma subsampling, the Annex K quantization tables scaled by quality (the libjpeg
/// rule) and the Annex K standard Huffman tables, no restart markers. The forward DCT is the
/// Arai-Agui-Nakajima float DCT with its scale factors folded into the quantization divisors.
/// Images whose sides are not multiples of 16 are padded by replicating the last column and row.
public enum JPEGEncoder {
    /// Encodes `rgb` (`width·height·3` bytes, rows top to bottom, R G B per pixel) as a JPEG file.
    /// `quality` is 1...100 (libjpeg's scale; 90 is a common camera/photo-app setting).
    public static func encode(rgb: [UInt8], width: Int, height: Int, quality: Int = 90) -> [UInt8] {
        precondition(width >= 1 && height >= 1 && width <= 65_535 && height <= 65_535, "bad JPEG dimensions")
        precondition(rgb.count == width * height * 3, "rgb must hold width*height*3 bytes")
        let lumaTable = scaledTable(Tables.luminanceQuant, quality: quality)
        let chromaTable = scaledTable(Tables.chrominanceQuant, quality: quality)

        var output: [UInt8] = []
        output.reserveCapacity(width * height / 2 + 1024)
        writeHeaders(into: &output, width: width, height: height, luma: lumaTable, chroma: chromaTable)

        var writer = BitWriter(bytes: output)
        rgb.withUnsafeBufferPointer { pixels in
            let state = BlockCoder(lumaTable: lumaTable, chromaTable: chromaTable)
            defer { state.deallocate() }
            state.encodeScan(pixels: pixels, width: width, height: height, writer: &writer)
        }
        writer.flushWithOnes()
        output = writer.bytes
        output.append(contentsOf: [0xFF, 0xD9])  // EOI
        return output
    }

    /// The quantization table (natural order) for `quality`, as libjpeg's `jpeg_quality_scaling`
    /// computes it, limited to 1...255 so that it fits a baseline 8-bit DQT.
    static func scaledTable(_ base: [Int], quality: Int) -> [Int] {
        let q = min(100, max(1, quality))
        let scale = q < 50 ? 5000 / q : 200 - 2 * q
        return base.map { min(255, max(1, ($0 * scale + 50) / 100)) }
    }

    private static func writeHeaders(
        into out: inout [UInt8], width: Int, height: Int, luma: [Int], chroma: [Int]
    ) {
        func u16(_ value: Int) {
            out.append(UInt8(value >> 8))
            out.append(UInt8(value & 0xFF))
        }
        out += [0xFF, 0xD8]  // SOI
        // APP0 JFIF 1.01, no units, 1:1 density, no thumbnail.
        out += [0xFF, 0xE0]
        u16(16)
        out += Array("JFIF".utf8) + [0, 1, 1, 0]
        u16(1)
        u16(1)
        out += [0, 0]
        // DQT: two 8-bit tables in zig-zag order.
        out += [0xFF, 0xDB]
        u16(2 + 2 * 65)
        for (id, table) in [luma, chroma].enumerated() {
            out.append(UInt8(id))
            for k in 0..<64 { out.append(UInt8(table[Tables.zigzagToNatural[k]])) }
        }
        // SOF0: baseline, 8-bit, Y sampled 2x2, Cb and Cr 1x1.
        out += [0xFF, 0xC0]
        u16(17)
        out.append(8)
        u16(height)
        u16(width)
        out += [3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]
        // DHT: the four Annex K tables.
        let specs = Tables.huffmanSpecs
        out += [0xFF, 0xC4]
        u16(2 + specs.reduce(0) { $0 + 17 + $1.values.count })
        for spec in specs {
            out.append(spec.classAndID)
            out += spec.bits.map { UInt8($0) }
            out += spec.values.map { UInt8($0) }
        }
        // SOS: all three components, DC/AC tables 0 for Y and 1 for chroma, full spectrum.
        out += [0xFF, 0xDA]
        u16(12)
        out += [3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]
    }
}

/// Collects entropy-coded bits MSB first and inserts the 0x00 stuffing byte after every 0xFF.
struct BitWriter {
    var bytes: [UInt8]
    private var accumulator: UInt64 = 0
    private var count = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    /// Appends the low `length` bits of `bits` (length ≤ 32).
    @inline(__always)
    mutating func write(_ bits: UInt32, length: Int) {
        accumulator = (accumulator << UInt64(length)) | UInt64(bits & ((1 << UInt32(length)) &- 1))
        count += length
        while count >= 8 {
            count -= 8
            let byte = UInt8(truncatingIfNeeded: accumulator >> UInt64(count))
            bytes.append(byte)
            if byte == 0xFF { bytes.append(0) }
        }
    }

    /// Pads the last partial byte with 1 bits (T.81 F.1.2.3).
    mutating func flushWithOnes() {
        if count > 0 { write((1 << UInt32(8 - count)) - 1, length: 8 - count) }
    }
}

/// Per-encode working memory and the block pipeline: level shift, DCT, quantization, Huffman.
private struct BlockCoder {
    let lumaDivisors: UnsafeMutablePointer<Float>
    let chromaDivisors: UnsafeMutablePointer<Float>
    let block: UnsafeMutablePointer<Float>
    let quantized: UnsafeMutablePointer<Int32>
    let zigzag: UnsafeMutablePointer<Int>
    let lumaDC: HuffmanCodes
    let lumaAC: HuffmanCodes
    let chromaDC: HuffmanCodes
    let chromaAC: HuffmanCodes

    init(lumaTable: [Int], chromaTable: [Int]) {
        lumaDivisors = .allocate(capacity: 64)
        chromaDivisors = .allocate(capacity: 64)
        block = .allocate(capacity: 64)
        quantized = .allocate(capacity: 64)
        zigzag = .allocate(capacity: 64)
        zigzag.initialize(from: Tables.zigzagToNatural, count: 64)
        // The AAN DCT leaves coefficient (u, v) scaled by 8·s(u)·s(v); undo that in the divisor.
        let aan: [Float] = [
            1.0, 1.387039845, 1.306562965, 1.175875602, 1.0, 0.785694958, 0.541196100, 0.275899379,
        ]
        for row in 0..<8 {
            for col in 0..<8 {
                let i = row * 8 + col
                lumaDivisors[i] = 1 / (Float(lumaTable[i]) * aan[row] * aan[col] * 8)
                chromaDivisors[i] = 1 / (Float(chromaTable[i]) * aan[row] * aan[col] * 8)
            }
        }
        let specs = Tables.huffmanSpecs
        lumaDC = HuffmanCodes(specs[0])
        lumaAC = HuffmanCodes(specs[1])
        chromaDC = HuffmanCodes(specs[2])
        chromaAC = HuffmanCodes(specs[3])
    }

    func deallocate() {
        lumaDivisors.deallocate()
        chromaDivisors.deallocate()
        block.deallocate()
        quantized.deallocate()
        zigzag.deallocate()
        lumaDC.deallocate()
        lumaAC.deallocate()
        chromaDC.deallocate()
        chromaAC.deallocate()
    }

    /// Converts one 16-row strip at a time to level-shifted Y and 2x2-averaged Cb/Cr planes
    /// (padded to whole MCUs by edge replication), then codes its MCUs left to right.
    func encodeScan(pixels: UnsafeBufferPointer<UInt8>, width: Int, height: Int, writer: inout BitWriter) {
        let mcuColumns = (width + 15) / 16
        let mcuRows = (height + 15) / 16
        let paddedWidth = mcuColumns * 16
        let chromaWidth = paddedWidth / 2
        let yStrip = UnsafeMutablePointer<Float>.allocate(capacity: 16 * paddedWidth)
        let cbFull = UnsafeMutablePointer<Float>.allocate(capacity: 16 * paddedWidth)
        let crFull = UnsafeMutablePointer<Float>.allocate(capacity: 16 * paddedWidth)
        let cbStrip = UnsafeMutablePointer<Float>.allocate(capacity: 8 * chromaWidth)
        let crStrip = UnsafeMutablePointer<Float>.allocate(capacity: 8 * chromaWidth)
        defer {
            yStrip.deallocate()
            cbFull.deallocate()
            crFull.deallocate()
            cbStrip.deallocate()
            crStrip.deallocate()
        }
        let base = pixels.baseAddress!
        var previousY: Int32 = 0
        var previousCb: Int32 = 0
        var previousCr: Int32 = 0
        for mcuRow in 0..<mcuRows {
            for r in 0..<16 {
                let sourceRow = min(mcuRow * 16 + r, height - 1)
                var source = base + sourceRow * width * 3
                let rowStart = r * paddedWidth
                var x = 0
                while x < width {
                    let red = Float(source[0])
                    let green = Float(source[1])
                    let blue = Float(source[2])
                    yStrip[rowStart + x] = 0.299 * red + 0.587 * green + 0.114 * blue - 128
                    cbFull[rowStart + x] = -0.168_736 * red - 0.331_264 * green + 0.5 * blue
                    crFull[rowStart + x] = 0.5 * red - 0.418_688 * green - 0.081_312 * blue
                    source += 3
                    x += 1
                }
                let last = rowStart + width - 1
                while x < paddedWidth {
                    yStrip[rowStart + x] = yStrip[last]
                    cbFull[rowStart + x] = cbFull[last]
                    crFull[rowStart + x] = crFull[last]
                    x += 1
                }
            }
            for r in 0..<8 {
                let top = 2 * r * paddedWidth
                let bottom = top + paddedWidth
                for c in 0..<chromaWidth {
                    let a = top + 2 * c
                    let b = bottom + 2 * c
                    cbStrip[r * chromaWidth + c] = (cbFull[a] + cbFull[a + 1] + cbFull[b] + cbFull[b + 1]) * 0.25
                    crStrip[r * chromaWidth + c] = (crFull[a] + crFull[a + 1] + crFull[b] + crFull[b + 1]) * 0.25
                }
            }
            for mcuColumn in 0..<mcuColumns {
                let x0 = mcuColumn * 16
                for quadrant in 0..<4 {
                    let offset = (quadrant >> 1) * 8 * paddedWidth + x0 + (quadrant & 1) * 8
                    load(from: yStrip + offset, stride: paddedWidth)
                    codeBlock(divisors: lumaDivisors, dc: lumaDC, ac: lumaAC, previous: &previousY, writer: &writer)
                }
                load(from: cbStrip + mcuColumn * 8, stride: chromaWidth)
                codeBlock(divisors: chromaDivisors, dc: chromaDC, ac: chromaAC, previous: &previousCb, writer: &writer)
                load(from: crStrip + mcuColumn * 8, stride: chromaWidth)
                codeBlock(divisors: chromaDivisors, dc: chromaDC, ac: chromaAC, previous: &previousCr, writer: &writer)
            }
        }
    }

    @inline(__always)
    private func load(from source: UnsafeMutablePointer<Float>, stride: Int) {
        for row in 0..<8 {
            (block + row * 8).update(from: source + row * stride, count: 8)
        }
    }

    private func codeBlock(
        divisors: UnsafeMutablePointer<Float>, dc: HuffmanCodes, ac: HuffmanCodes, previous: inout Int32,
        writer: inout BitWriter
    ) {
        forwardDCT(block, stride: 1, step: 8)  // rows
        forwardDCT(block, stride: 8, step: 1)  // columns
        for k in 0..<64 {
            let natural = zigzag[k]
            // Baseline AC amplitudes have at most 10 bits; only quality 100 could get near that.
            let value = (block[natural] * divisors[natural]).rounded()
            quantized[k] = Int32(k == 0 ? value : min(1023, max(-1023, value)))
        }

        let diff = quantized[0] - previous
        previous = quantized[0]
        let dcSize = magnitudeCategory(diff)
        writer.write(dc.codes[dcSize], length: Int(dc.lengths[dcSize]))
        if dcSize > 0 { writer.write(amplitudeBits(diff, dcSize), length: dcSize) }

        var run = 0
        for k in 1..<64 {
            let value = quantized[k]
            if value == 0 {
                run += 1
                continue
            }
            while run > 15 {
                writer.write(ac.codes[0xF0], length: Int(ac.lengths[0xF0]))  // ZRL
                run -= 16
            }
            let size = magnitudeCategory(value)
            let symbol = (run << 4) | size
            let codeLength = Int(ac.lengths[symbol])
            writer.write((ac.codes[symbol] << UInt32(size)) | amplitudeBits(value, size), length: codeLength + size)
            run = 0
        }
        if run > 0 { writer.write(ac.codes[0x00], length: Int(ac.lengths[0x00])) }  // EOB
    }

    /// One pass of the AAN forward DCT (libjpeg's jfdctflt) over 8 vectors: each vector's elements
    /// are `stride` apart, consecutive vectors `step` apart.
    @inline(__always)
    private func forwardDCT(_ data: UnsafeMutablePointer<Float>, stride s: Int, step: Int) {
        for vector in 0..<8 {
            let p = data + vector * step
            let tmp0 = p[0] + p[7 * s]
            let tmp7 = p[0] - p[7 * s]
            let tmp1 = p[s] + p[6 * s]
            let tmp6 = p[s] - p[6 * s]
            let tmp2 = p[2 * s] + p[5 * s]
            let tmp5 = p[2 * s] - p[5 * s]
            let tmp3 = p[3 * s] + p[4 * s]
            let tmp4 = p[3 * s] - p[4 * s]

            var tmp10 = tmp0 + tmp3
            let tmp13 = tmp0 - tmp3
            var tmp11 = tmp1 + tmp2
            var tmp12 = tmp1 - tmp2
            p[0] = tmp10 + tmp11
            p[4 * s] = tmp10 - tmp11
            let z1 = (tmp12 + tmp13) * 0.707_106_781
            p[2 * s] = tmp13 + z1
            p[6 * s] = tmp13 - z1

            tmp10 = tmp4 + tmp5
            tmp11 = tmp5 + tmp6
            tmp12 = tmp6 + tmp7
            let z5 = (tmp10 - tmp12) * 0.382_683_433
            let z2 = 0.541_196_100 * tmp10 + z5
            let z4 = 1.306_562_965 * tmp12 + z5
            let z3 = tmp11 * 0.707_106_781
            let z11 = tmp7 + z3
            let z13 = tmp7 - z3
            p[5 * s] = z13 + z2
            p[3 * s] = z13 - z2
            p[s] = z11 + z4
            p[7 * s] = z11 - z4
        }
    }

    /// The number of bits of |value| (T.81 F.1.2.1's SSSS).
    @inline(__always)
    private func magnitudeCategory(_ value: Int32) -> Int {
        let magnitude = UInt32(bitPattern: value < 0 ? -value : value)
        return 32 - magnitude.leadingZeroBitCount
    }

    /// The `size` low bits that follow the Huffman code: the value itself when positive, its
    /// one's complement when negative.
    @inline(__always)
    private func amplitudeBits(_ value: Int32, _ size: Int) -> UInt32 {
        let bits = UInt32(bitPattern: value < 0 ? value - 1 : value)
        return bits & ((1 << UInt32(size)) &- 1)
    }
}

/// Code words and lengths for every symbol of one Huffman table (T.81 Annex C).
private struct HuffmanCodes {
    let codes: UnsafeMutablePointer<UInt32>
    let lengths: UnsafeMutablePointer<UInt8>

    init(_ spec: Tables.HuffmanSpec) {
        codes = .allocate(capacity: 256)
        codes.initialize(repeating: 0, count: 256)
        lengths = .allocate(capacity: 256)
        lengths.initialize(repeating: 0, count: 256)
        var code: UInt32 = 0
        var index = 0
        for length in 1...16 {
            for _ in 0..<spec.bits[length - 1] {
                let symbol = spec.values[index]
                codes[symbol] = code
                lengths[symbol] = UInt8(length)
                code += 1
                index += 1
            }
            code <<= 1
        }
    }

    func deallocate() {
        codes.deallocate()
        lengths.deallocate()
    }
}

private enum Tables {
    /// Annex K.1, natural (row-major) order.
    static let luminanceQuant: [Int] = [
        16, 11, 10, 16, 24, 40, 51, 61,
        12, 12, 14, 19, 26, 58, 60, 55,
        14, 13, 16, 24, 40, 57, 69, 56,
        14, 17, 22, 29, 51, 87, 80, 62,
        18, 22, 37, 56, 68, 109, 103, 77,
        24, 35, 55, 64, 81, 104, 113, 92,
        49, 64, 78, 87, 103, 121, 120, 101,
        72, 92, 95, 98, 112, 100, 103, 99,
    ]
    /// Annex K.2, natural order.
    static let chrominanceQuant: [Int] = [
        17, 18, 24, 47, 99, 99, 99, 99,
        18, 21, 26, 66, 99, 99, 99, 99,
        24, 26, 56, 99, 99, 99, 99, 99,
        47, 66, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99,
    ]

    /// `zigzagToNatural[k]` is the row-major index of the k-th coefficient in zig-zag order
    /// (T.81 Figure A.6), generated by walking the anti-diagonals.
    static let zigzagToNatural: [Int] = {
        var order: [Int] = []
        for diagonal in 0..<15 {
            let rows = max(0, diagonal - 7)...min(7, diagonal)
            // Even diagonals run bottom-left to top-right, odd ones top-right to bottom-left.
            let rowSequence = diagonal % 2 == 0 ? Array(rows.reversed()) : Array(rows)
            for row in rowSequence { order.append(row * 8 + (diagonal - row)) }
        }
        return order
    }()

    struct HuffmanSpec {
        /// Tc (0 = DC, 1 = AC) in the high nibble, Th in the low nibble.
        let classAndID: UInt8
        /// Number of codes of each length 1...16.
        let bits: [Int]
        let values: [Int]
    }

    /// Annex K.3: DC luminance, AC luminance, DC chrominance, AC chrominance.
    static let huffmanSpecs: [HuffmanSpec] = [
        HuffmanSpec(
            classAndID: 0x00, bits: [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0], values: Array(0...11)),
        HuffmanSpec(
            classAndID: 0x10, bits: [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7D],
            values: [
                0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
                0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xA1, 0x08, 0x23, 0x42, 0xB1, 0xC1, 0x15, 0x52, 0xD1, 0xF0,
                0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0A, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x25, 0x26, 0x27, 0x28,
                0x29, 0x2A, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
                0x4A, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
                0x6A, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
                0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7,
                0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xC2, 0xC3, 0xC4, 0xC5,
                0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xE1, 0xE2,
                0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8,
                0xF9, 0xFA,
            ]),
        HuffmanSpec(
            classAndID: 0x01, bits: [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0], values: Array(0...11)),
        HuffmanSpec(
            classAndID: 0x11, bits: [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
            values: [
                0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
                0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xA1, 0xB1, 0xC1, 0x09, 0x23, 0x33, 0x52, 0xF0,
                0x15, 0x62, 0x72, 0xD1, 0x0A, 0x16, 0x24, 0x34, 0xE1, 0x25, 0xF1, 0x17, 0x18, 0x19, 0x1A, 0x26,
                0x27, 0x28, 0x29, 0x2A, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
                0x49, 0x4A, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
                0x69, 0x6A, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
                0x88, 0x89, 0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2, 0xA3, 0xA4, 0xA5,
                0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xC2, 0xC3,
                0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA,
                0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8,
                0xF9, 0xFA,
            ]),
    ]
}
