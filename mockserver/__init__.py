"""ske-sandbox: an offline Maskinporten + Skatteetaten (Summert skattegrunnlag, Inntekt) sandbox."""

__version__ = "0.1.0"
