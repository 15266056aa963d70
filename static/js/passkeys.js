// The two-factor page: once django-otp-webauthn's script has registered a passkey, show the page again
// (with the new passkey in the list, and the backup codes if it was the first second factor).
document.addEventListener("otp_webauthn.register_complete", () => {
  window.location.reload();
});
