package dev.stride.cuda;

/** CUDA cannot be used on this machine; the message says every reason found and where libraries were looked for. */
public final class CudaUnavailableException extends IllegalStateException {
    public CudaUnavailableException(String message) { super(message); }
}
