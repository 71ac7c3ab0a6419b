import COpenCL
import Core
import Foundation
import OpenCLDevice

/// CLBlast's SGEMM, the tuned OpenCL BLAS that `gputrain bench kernels` compares the matmul
/// kernel with. The library is optional: it is loaded at run time (`libclblast.so.1`), and the
/// benchmark reports `null` for it when it is not installed.
public enum CLBlast {
    // CLBlastSgemm(layout, transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta,
    //              c, cOffset, ldc, queue*, event*) from clblast_c.h.
    private typealias Sgemm =
        @convention(c) (
            Int32, Int32, Int32, Int, Int, Int, Float,
            cl_mem?, Int, Int, cl_mem?, Int, Int, Float, cl_mem?, Int, Int,
            UnsafeMutablePointer<cl_command_queue?>?, UnsafeMutablePointer<cl_event?>?
        ) -> Int32

    private static let rowMajor: Int32 = 101
    private static let noTranspose: Int32 = 111
    private static let transpose: Int32 = 112

    /// Why CLBlast cannot be used, or nil when it loaded.
    public static let unavailableReason: String? = {
        if case .failure(let reason) = loaded { return reason.message }
        return nil
    }()

    private struct LoadFailure: Error { var message: String }

    private static let loaded: Result<Sgemm, LoadFailure> = {
        guard let library = dlopen("libclblast.so.1", RTLD_NOW | RTLD_LOCAL) else {
            return .failure(LoadFailure(message: "libclblast.so.1 not found (" + String(cString: dlerror()) + ")"))
        }
        guard let symbol = dlsym(library, "CLBlastSgemm") else {
            return .failure(LoadFailure(message: "libclblast.so.1 has no CLBlastSgemm"))
        }
        return .success(unsafeBitCast(symbol, to: Sgemm.self))
    }()

    /// Queues C = α·op(A)·op(B) + β·C (one batch item) on `queue`.
    static func sgemm(_ shape: MatmulShape, a: cl_mem, b: cl_mem, c: cl_mem, queue: cl_command_queue) throws {
        let sgemm: Sgemm
        switch loaded {
        case .success(let function): sgemm = function
        case .failure(let reason):
            throw DeviceError.invalidArgument(operation: "CLBlast SGEMM", message: reason.message)
        }
        var queue: cl_command_queue? = queue
        let status = sgemm(
            rowMajor, shape.transposeA ? transpose : noTranspose, shape.transposeB ? transpose : noTranspose,
            shape.m, shape.n, shape.k, shape.alpha,
            a, 0, shape.transposeA ? shape.m : shape.k,
            b, 0, shape.transposeB ? shape.k : shape.n,
            shape.beta, c, 0, shape.n, &queue, nil)
        guard status == 0 else {
            throw DeviceError.invalidArgument(
                operation: "CLBlast SGEMM \(shape.operationName)", message: "status \(status)")
        }
    }
}

extension OpenCLDevice {
    /// C = α·op(A)·op(B) + β·C by CLBlast on this device's queue, for comparison with `matmul`.
    /// Batches are not supported (benchmarks time single products).
    public func clblastMatmul(_ shape: MatmulShape, a: DeviceBuffer, b: DeviceBuffer, c: DeviceBuffer) throws {
        try shape.validate(a: a, b: b, c: c)
        guard shape.batch == 1 else {
            throw DeviceError.invalidArgument(operation: "CLBlast \(shape.operationName)", message: "batch must be 1")
        }
        let operation = "CLBlast \(shape.operationName)"
        try CLBlast.sgemm(
            shape, a: own(a, operation).memory, b: own(b, operation).memory, c: own(c, operation).memory,
            queue: queue)
    }
}
