import SwitchyardCore

/// What a synthetic image imitates. The kind decides the content and so the JPEG file size.
public enum SyntheticImageKind: String, Sendable, Hashable, CaseIterable {
    /// A camera photo: a sky-to-ground gradient, a few blended shapes and per-pixel sensor-like
    /// noise (stronger towards the bottom), which makes files as large as real photos'.
    case photo
    /// A screen capture: flat UI colours, a title bar, lines of glyph-like text and, in some
    /// variants, an embedded photo panel; flatter, so files are smaller per pixel.
    case screenshot
}

/// Deterministic, photo-like RGB pixels for benchmark images (no two variants alike, same
/// variant identical on every run and machine).
public enum SyntheticImage {
    /// Peak luma noise of a photo (triangular distribution, ±this many levels); tuned so that a
    /// 3840×2160 photo at quality 90 is about 2.5 MB and a 224×224 one about 20 KB.
    static let photoNoise = 30
    /// Peak chroma noise of a photo.
    static let photoChromaNoise = 6

    /// `width·height·3` bytes of RGB for the given kind, fully determined by `seed`.
    public static func rgb(width: Int, height: Int, kind: SyntheticImageKind, seed: UInt64) -> [UInt8] {
        precondition(width >= 1 && height >= 1)
        var generator = SeededRandom(seed: seed)
        var canvas = Canvas(width: width, height: height)
        switch kind {
        case .photo:
            paintPhoto(&canvas, x0: 0, y0: 0, width: width, height: height, generator: &generator)
        case .screenshot:
            paintScreenshot(&canvas, generator: &generator)
        }
        return canvas.pixels
    }

    /// A smooth diagonal colour gradient with no noise (for checking an encoder's fidelity). No
    /// channel changes by more than one level per pixel, so small images show only part of it.
    public static func smoothGradient(width: Int, height: Int) -> [UInt8] {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let wScale = 1 / Double(max(255, width - 1))
        let hScale = 1 / Double(max(255, height - 1))
        for y in 0..<height {
            for x in 0..<width {
                let u = Double(x) * wScale
                let v = Double(y) * hScale
                let i = (y * width + x) * 3
                pixels[i] = UInt8(40 + 180 * u)
                pixels[i + 1] = UInt8(30 + 190 * v)
                pixels[i + 2] = UInt8(200 - 150 * (u + v) / 2)
            }
        }
        return pixels
    }

    // MARK: - Photo

    private static func paintPhoto(
        _ canvas: inout Canvas, x0: Int, y0: Int, width: Int, height: Int, generator: inout SeededRandom
    ) {
        // Sky-like top colour, ground-like bottom colour, and a left-right tint.
        let top = (
            Double(generator.uniformInt(in: 90...230)), Double(generator.uniformInt(in: 110...235)),
            Double(generator.uniformInt(in: 150...255))
        )
        let bottom = (
            Double(generator.uniformInt(in: 30...150)), Double(generator.uniformInt(in: 40...140)),
            Double(generator.uniformInt(in: 20...110))
        )
        let tint = (
            Double(generator.uniformInt(in: -40...40)), Double(generator.uniformInt(in: -40...40)),
            Double(generator.uniformInt(in: -40...40))
        )
        canvas.pixels.withUnsafeMutableBufferPointer { buffer in
            let pixels = buffer.baseAddress!
            let xScale = 1 / Double(max(1, width - 1))
            for y in 0..<height {
                let t = Double(y) / Double(max(1, height - 1))
                let r0 = top.0 + (bottom.0 - top.0) * t - tint.0 / 2
                let g0 = top.1 + (bottom.1 - top.1) * t - tint.1 / 2
                let b0 = top.2 + (bottom.2 - top.2) * t - tint.2 / 2
                var p = pixels + ((y0 + y) * canvas.width + x0) * 3
                for x in 0..<width {
                    let u = Double(x) * xScale
                    p[0] = clampByte(Int(r0 + tint.0 * u))
                    p[1] = clampByte(Int(g0 + tint.1 * u))
                    p[2] = clampByte(Int(b0 + tint.2 * u))
                    p += 3
                }
            }
        }
        // A few objects: ellipses and rectangles, partly transparent.
        let shapes = generator.uniformInt(in: 4...8)
        let minSide = min(width, height)
        for _ in 0..<shapes {
            let centerX = x0 + generator.uniformInt(in: 0...(width - 1))
            let centerY = y0 + height / 3 + generator.uniformInt(in: 0...max(0, height * 2 / 3 - 1))
            let radiusX = max(1, minSide * generator.uniformInt(in: 5...30) / 100)
            let radiusY = max(1, minSide * generator.uniformInt(in: 5...30) / 100)
            let color = (
                generator.uniformInt(in: 0...255), generator.uniformInt(in: 0...255), generator.uniformInt(in: 0...255)
            )
            let alpha = generator.uniformInt(in: 128...256)
            let elliptical = generator.uniformInt(in: 0...1) == 0
            for y in max(y0, centerY - radiusY)..<min(y0 + height, centerY + radiusY) {
                var halfSpan = radiusX
                if elliptical {
                    let dy = Double(y - centerY) / Double(radiusY)
                    halfSpan = Int(Double(radiusX) * (1 - dy * dy).squareRoot())
                }
                let from = max(x0, centerX - halfSpan)
                let to = min(x0 + width, centerX + halfSpan)
                if from < to { canvas.blendSpan(y: y, from: from, to: to, color: color, alpha: alpha) }
            }
        }
        // Sensor-like noise, stronger on the (textured) lower part than in the sky.
        canvas.pixels.withUnsafeMutableBufferPointer { buffer in
            let pixels = buffer.baseAddress!
            for y in 0..<height {
                let amplitude = photoNoise * (40 + 60 * y / max(1, height - 1)) / 100
                var p = pixels + ((y0 + y) * canvas.width + x0) * 3
                var bits: UInt64 = 0
                for x in 0..<width {
                    if x & 1 == 0 { bits = generator.next() } else { bits >>= 32 }
                    let luma = ((Int(bits & 0xFF) + Int((bits >> 8) & 0xFF) - 255) * amplitude) >> 8
                    let chromaR = ((Int((bits >> 16) & 0xFF) - 128) * photoChromaNoise) >> 7
                    let chromaB = ((Int((bits >> 24) & 0xFF) - 128) * photoChromaNoise) >> 7
                    p[0] = clampByte(Int(p[0]) + luma + chromaR)
                    p[1] = clampByte(Int(p[1]) + luma)
                    p[2] = clampByte(Int(p[2]) + luma + chromaB)
                    p += 3
                }
            }
        }
    }

    // MARK: - Screenshot

    private static func paintScreenshot(_ canvas: inout Canvas, generator: inout SeededRandom) {
        let width = canvas.width
        let height = canvas.height
        let dark = generator.uniformInt(in: 0...4) == 0
        let background = dark ? (30, 32, 38) : (248, 248, 250)
        let ink = dark ? (220, 222, 228) : (32, 33, 36)
        let accent = (
            generator.uniformInt(in: 20...200), generator.uniformInt(in: 60...200), generator.uniformInt(in: 120...255)
        )
        canvas.fill(x: 0, y: 0, width: width, height: height, color: background)

        let scale = max(1, (min(width, height) + 270) / 540)
        let barHeight = max(6, height / 18)
        canvas.fill(x: 0, y: 0, width: width, height: barHeight, color: accent)

        var contentLeft = max(2, width / 40)
        if width > 600 && generator.uniformInt(in: 0...1) == 0 {
            let sidebar = width / 6
            canvas.fill(
                x: 0, y: barHeight, width: sidebar, height: height - barHeight,
                color: dark ? (40, 42, 50) : (236, 238, 242))
            contentLeft = sidebar + width / 40
        }
        let contentRight = width - max(2, width / 40)

        // An embedded picture (a web page or chat with a photo) in half of the screenshots.
        var panel: (x: Int, y: Int, width: Int, height: Int)? = nil
        if generator.uniformInt(in: 0...1) == 0 {
            let panelWidth = (contentRight - contentLeft) * generator.uniformInt(in: 30...45) / 100
            let panelHeight = (height - barHeight) * generator.uniformInt(in: 25...45) / 100
            if panelWidth >= 8 && panelHeight >= 8 {
                let px = contentRight - panelWidth
                let py = barHeight + (height - barHeight) / 10
                paintPhoto(&canvas, x0: px, y0: py, width: panelWidth, height: panelHeight, generator: &generator)
                panel = (px, py, panelWidth, panelHeight)
            }
        }

        // Random 5×7 glyphs, reused like the letters of a font.
        // About a third of each 5×7 cell is ink, as in real text.
        let glyphs = (0..<48).map { _ in generator.next() & generator.next() & 0x7_FFFF_FFFF | generator.next() & 0x4210
        }
        let advance = 6 * scale
        let lineHeight = 14 * scale
        var y = barHeight + lineHeight
        while y + 7 * scale < height - lineHeight / 2 {
            var right = contentRight
            if let panel, y + 7 * scale > panel.y && y < panel.y + panel.height + lineHeight {
                right = panel.x - 2 * advance
            }
            let lineEnd = contentLeft + (right - contentLeft) * generator.uniformInt(in: 55...100) / 100
            var x = contentLeft
            while x < lineEnd {
                let letters = generator.uniformInt(in: 2...9)
                if x + letters * advance > lineEnd { break }
                for _ in 0..<letters {
                    let glyph = glyphs[generator.uniformInt(in: 0...(glyphs.count - 1))]
                    for row in 0..<7 {
                        for column in 0..<5 where glyph >> UInt64(row * 5 + column) & 1 == 1 {
                            canvas.fill(
                                x: x + column * scale, y: y + row * scale, width: scale, height: scale, color: ink)
                        }
                    }
                    x += advance
                }
                x += advance
            }
            // Paragraph breaks now and then.
            y += generator.uniformInt(in: 0...4) == 0 ? 3 * lineHeight : lineHeight
        }
    }

    // MARK: - Helpers

    @inline(__always)
    private static func clampByte(_ value: Int) -> UInt8 {
        UInt8(value < 0 ? 0 : (value > 255 ? 255 : value))
    }

    private struct Canvas {
        let width: Int
        let height: Int
        var pixels: [UInt8]

        init(width: Int, height: Int) {
            self.width = width
            self.height = height
            pixels = [UInt8](repeating: 0, count: width * height * 3)
        }

        mutating func fill(x: Int, y: Int, width w: Int, height h: Int, color: (Int, Int, Int)) {
            let x0 = max(0, x)
            let x1 = min(width, x + w)
            let y0 = max(0, y)
            let y1 = min(height, y + h)
            guard x0 < x1, y0 < y1 else { return }
            let (r, g, b) = (UInt8(color.0), UInt8(color.1), UInt8(color.2))
            let rowWidth = width
            pixels.withUnsafeMutableBufferPointer { buffer in
                for row in y0..<y1 {
                    var p = buffer.baseAddress! + (row * rowWidth + x0) * 3
                    for _ in x0..<x1 {
                        p[0] = r
                        p[1] = g
                        p[2] = b
                        p += 3
                    }
                }
            }
        }

        /// Blends `color` over pixels [from, to) of row `y` with `alpha` in 0...256.
        mutating func blendSpan(y: Int, from: Int, to: Int, color: (Int, Int, Int), alpha: Int) {
            let rowWidth = width
            pixels.withUnsafeMutableBufferPointer { buffer in
                var p = buffer.baseAddress! + (y * rowWidth + from) * 3
                let keep = 256 - alpha
                for _ in from..<to {
                    p[0] = UInt8((Int(p[0]) * keep + color.0 * alpha) >> 8)
                    p[1] = UInt8((Int(p[1]) * keep + color.1 * alpha) >> 8)
                    p[2] = UInt8((Int(p[2]) * keep + color.2 * alpha) >> 8)
                    p += 3
                }
            }
        }
    }
}
