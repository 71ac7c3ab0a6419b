// normalization.cl: kernels of the normalization family. See the Swift reference in Sources/ReferenceDevice.
