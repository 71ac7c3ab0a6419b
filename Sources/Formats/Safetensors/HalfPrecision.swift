/// Conversions between `Float` and the two 16-bit float formats of checkpoints, done on bit
/// patterns so they work where `Float16` is unavailable (x86-64 Linux toolchains).
public enum HalfPrecision {
    /// bfloat16 → Float: bf16 is the top half of the f32 bit pattern.
    @inline(__always)
    public static func float(fromBFloat16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Float → bfloat16 with round-to-nearest-even; NaNs stay NaN (quiet).
    @inline(__always)
    public static func bfloat16(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(bits >> 16) | 0x0040 }
        let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(rounded >> 16)
    }

    /// IEEE binary16 → Float, exact (every half value is a float), subnormals included.
    @inline(__always)
    public static func float(fromFloat16 bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits) & 0x3FF
        switch exponent {
        case 0:
            // Zero or subnormal: mantissa · 2^-24, exact in Float.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        case 0x1F:
            // Infinity or NaN; the payload moves to the top of the f32 mantissa.
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        default:
            return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
        }
    }

    /// Float → IEEE binary16 with round-to-nearest-even; overflow gives ±infinity, tiny values
    /// become subnormals or ±0, NaNs stay NaN (quiet).
    public static func float16(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        let mantissa = bits & 0x7F_FFFF
        if exponent == 0xFF {
            return sign | 0x7C00 | (mantissa == 0 ? 0 : UInt16(0x200 | (mantissa >> 13)))
        }
        // Unbiased exponent, rebiased for half (bias 15).
        let halfExponent = exponent - 127 + 15
        if halfExponent >= 0x1F { return sign | 0x7C00 }
        if halfExponent <= 0 {
            // Subnormal half (or zero): shift the full significand (with its implicit 1) right.
            let shift = 14 - halfExponent
            if shift > 24 { return sign }
            let significand = mantissa | 0x80_0000
            return sign | UInt16(roundShiftRight(significand, by: UInt32(shift)))
        }
        // Normal: keep 10 mantissa bits, round the 13 dropped ones; a carry correctly bumps the
        // exponent (and reaches infinity at the top).
        let combined = UInt32(halfExponent) << 10 | (mantissa >> 13)
        let dropped = mantissa & 0x1FFF
        let roundUp = dropped > 0x1000 || (dropped == 0x1000 && combined & 1 == 1)
        return sign | UInt16(combined + (roundUp ? 1 : 0))
    }

    /// `value >> shift`, rounded to nearest, ties to even.
    private static func roundShiftRight(_ value: UInt32, by shift: UInt32) -> UInt32 {
        let kept = value >> shift
        let remainder = value & ((1 << shift) - 1)
        let half: UInt32 = 1 << (shift - 1)
        if remainder > half || (remainder == half && kept & 1 == 1) { return kept + 1 }
        return kept
    }
}
