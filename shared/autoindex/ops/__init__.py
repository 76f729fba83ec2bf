"""Operations across domains: readiness and the weekly maintenance job."""
