package dev.stride.engine;

/**
 * A backend that exists but cannot run on this machine (the cuda backend without a GPU, driver or libraries): the
 * message is the backend's {@link Backend#unavailableReason()}, which says what is missing and where it looked. An
 * expected condition for a user, not a defect: front ends report the message without a stack trace.
 */
public final class BackendUnavailableException extends IllegalStateException {
    public BackendUnavailableException(String backend, String why) {
        super("backend '" + backend + "' is not usable here: " + why);
    }
}
