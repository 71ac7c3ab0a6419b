// matmul.cl: kernels of the matmul family. See the Swift reference in Sources/ReferenceDevice.
