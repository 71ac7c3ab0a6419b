// elementwise.cl: kernels of the elementwise family. See the Swift reference in Sources/ReferenceDevice.
