// The co-signer API's numeric error codes (16xx), one table for the coordinator that answers with
// them and the parent that acts on them (coordinator/README.md, "Co-signer API").
export const CosignerApiCode = {
  PAIRING_TOKEN_INVALID: 1601,
  PAIRING_TOKEN_USED: 1602,
  PAIRING_TOKEN_EXPIRED: 1603,
  ATTESTATION_REFUSED: 1604,
  REFRESH_TOKEN_INVALID: 1605,
  ACCESS_TOKEN_INVALID: 1606,
  ACCESS_TOKEN_EXPIRED: 1607,
  STATE_ROLLBACK: 1608,
  STATE_REPORT_INVALID: 1609,
  LEASE_LOST: 1610,
  MPC_UNAVAILABLE: 1611,
  MPC_SESSION_FORBIDDEN: 1612,
  MPC_ROUND_CONFLICT: 1613,
  MPC_REFUSED: 1614,
  NO_RESULT_HANDLER: 1615,
} as const;
